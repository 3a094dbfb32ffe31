using System.Collections;
using System.Diagnostics;
using System.Net.Sockets;
using VirtFleet.Transport.Keeper;

namespace VirtFleet.Shell;

/// <summary>
/// The first step of every vfsh -Command / -File on Linux and macOS: hands the command to the user's warm shell when
/// one answers and is free, and relays its output, prompts and exit code, so this process never starts the engine.
/// When none answers it starts one (detached) for the commands that follow and returns null: this process runs the
/// command itself, as it does when the shell is busy, made with other settings, or turned off ($env:VF_KEEPER=0,
/// which turns off the connection keeper too).
/// </summary>
internal static class WarmShellClient
{
    public static int? TryRun(bool isFile, string text, IReadOnlyList<string> fileArgs, string module)
    {
        if (KeeperSettings.DisabledReason is not null || OperatingSystem.IsWindows()) return null;
        string socketPath, cwd;
        try
        {
            if (KeeperSettings.FolderProblem(KeeperSettings.Folder) is not null) return null;
            socketPath = WarmShellWire.SocketPath(module);
            cwd = Environment.CurrentDirectory;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException)
        {
            socket.Dispose();
            StartShell();
            return null;
        }
        using var owned = socket;
        // Only a shell of this user: its socket folder is ours alone, and the process behind it must be us too.
        if (!PeerCredentials.IsSameUser(socket, out _)) return null;
        using var stream = new NetworkStream(socket, ownsSocket: false);
        var send = new WarmShellWire.Sender(stream);
        var terminal = ConsoleTerminal.Instance;
        var sent = send.Send(WarmShellWire.Frame(WarmShellWire.Request, w =>
        {
            w.Write(isFile);
            w.Write(text);
            w.Write(fileArgs.Count);
            foreach (var a in fileArgs) w.Write(a);
            w.Write(cwd);
            var env = Environment.GetEnvironmentVariables();
            w.Write(env.Count);
            foreach (DictionaryEntry e in env) { w.Write((string)e.Key); w.Write((string?)e.Value ?? ""); }
            w.Write(terminal.Colors); w.Write(terminal.ErrorIsTerminal); w.Write(terminal.Interactive); w.Write(terminal.Width);
        }));
        if (!sent) return null;

        // Ctrl+C asks the shell to stop the command (its output and exit code still come); a second one ends vfsh.
        var stops = 0;
        Console.CancelKeyPress += (_, e) =>
        {
            if (Interlocked.Increment(ref stops) > 1) return;
            e.Cancel = true;
            send.Send(WarmShellWire.Frame(WarmShellWire.Stop));
        };
        var answered = false;
        var stdin = new Lazy<Stream>(Console.OpenStandardInput);
        try
        {
            while (WarmShellWire.Read(stream) is { } r)
            {
                var kind = r.ReadByte();
                switch (kind)
                {
                    case WarmShellWire.Busy when !answered: return null;
                    case WarmShellWire.Out: terminal.Out(r.ReadString()); break;
                    case WarmShellWire.Error: terminal.Error(r.ReadString()); break;
                    case WarmShellWire.AskLine or WarmShellWire.AskSecret:
                        var line = kind == WarmShellWire.AskLine ? terminal.ReadLine() : terminal.ReadSecret();
                        send.Send(WarmShellWire.Frame(WarmShellWire.Answer, w => { w.Write(line is not null); w.Write(line ?? ""); }));
                        break;
                    case WarmShellWire.AskInput:
                        var chunk = new byte[Math.Clamp(r.ReadInt32(), 1, 64 << 10)];
                        var n = stdin.Value.Read(chunk);
                        send.Send(WarmShellWire.Frame(WarmShellWire.Input, w => { w.Write(n); w.Write(chunk, 0, n); }));
                        break;
                    case WarmShellWire.Exit: return r.ReadInt32();
                }
                answered = true;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or EndOfStreamException) { }
        // The command may have run in part: it is not run again here.
        Console.Error.WriteLine("vfsh: the warm shell ended before the command did; its outcome is unknown.");
        return 1;
    }

    /// <summary>Starts a warm shell (this program with --serve) for later commands; it detaches itself and writes nothing.</summary>
    private static void StartShell()
    {
        if (Environment.ProcessPath is not { } self) return;
        try
        {
            var info = new ProcessStartInfo(self, "--serve")
            {
                UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
                WorkingDirectory = Path.GetTempPath(),
            };
            using var p = Process.Start(info);
            p?.StandardInput.Close();
            p?.StandardOutput.Close();
            p?.StandardError.Close();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException) { }
    }
}
