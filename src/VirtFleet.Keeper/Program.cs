using System.Runtime.InteropServices;
using VirtFleet.Transport.Keeper;

namespace VirtFleet.Keeper;

/// <summary>
/// vfkeeper --socket PATH --idle SECONDS: runs the user's connection keeper until it is idle that long, stopped
/// (Disconnect-VfHost -All) or sent SIGTERM. Prints "ready" once its socket answers; a second keeper finding one
/// already there prints it too and exits.
/// </summary>
public static class Program
{
    [DllImport("libc", EntryPoint = "setsid")]
    private static extern int SetSid();

    public static async Task<int> Main(string[] args)
    {
        string? socket = null;
        var idle = KeeperSettings.Idle;
        for (var i = 0; i + 1 < args.Length; i += 2)
            switch (args[i])
            {
                case "--socket": socket = args[i + 1]; break;
                case "--idle" when int.TryParse(args[i + 1], out var s) && s > 0: idle = TimeSpan.FromSeconds(s); break;
            }
        if (OperatingSystem.IsWindows())
        {
            Console.Error.WriteLine("vfkeeper: not available on Windows");
            return 2;
        }
        // Its own session: a Ctrl+C or hangup meant for the command that started it does not end it.
        SetSid();
        var server = new KeeperServer(socket ?? KeeperSettings.Socket, idle);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; server.Stop(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        await server.RunAsync(() =>
        {
            Console.Out.WriteLine("ready");
            Console.Out.Flush();
        });
        return 0;
    }
}
