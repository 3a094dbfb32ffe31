using System.Net.Sockets;
using System.Text;

namespace VirtFleet.Transport;

/// <summary>
/// A local UNIX socket that carries each connection made to it over a command of a host's session (an SSH exec channel of the
/// pooled connection) running libvirt's own <c>virt-ssh-helper qemu:///system</c> on the host (stdio to the host's libvirtd): libvirt.so connects to
/// it as to a local daemon (<see cref="LibvirtNative.LibvirtUri.ForSocket"/>). Nothing listens on the host. The socket sits
/// in a new private folder (mkdtemp, 0700) and is removed on <see cref="Dispose"/>, which also closes every channel.
/// </summary>
internal sealed class LibvirtTunnel : IDisposable
{
    private readonly Socket _listener;
    private readonly Func<ShellChannel> _channel;
    private readonly string _folder;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Action> _closers = [];
    private readonly StringBuilder _stderr = new();

    /// <summary>The socket libvirt.so connects to.</summary>
    public string SocketPath { get; }

    /// <param name="channel">Starts a command on the host whose stdio is the host's virt-ssh-helper.</param>
    public LibvirtTunnel(Func<ShellChannel> channel)
    {
        _channel = channel;
        _folder = PrivateFolder();
        SocketPath = Path.Combine(_folder, "libvirt");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
            File.SetUnixFileMode(SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            _listener.Listen(8);
        }
        catch
        {
            Dispose();
            throw;
        }
        _ = AcceptAsync();
    }

    /// <summary>Connections carried so far (each on its own channel).</summary>
    public int Channels { get; private set; }

    /// <summary>What the host's side said on stderr (virt-ssh-helper or sudo), the last few lines, for errors.</summary>
    public string HostSaid { get { lock (_stderr) return _stderr.ToString().Trim(); } }

    /// <summary>
    /// A new folder only this user can enter: under $XDG_RUNTIME_DIR (the user's own tmpfs) when set, else the temporary
    /// folder; a short path, since a UNIX socket's path has at most 107 bytes.
    /// </summary>
    internal static string PrivateFolder()
    {
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        var parent = runtime is { Length: > 0 and < 60 } && Directory.Exists(runtime) ? runtime : Path.GetTempPath();
        if (parent.Length >= 60) parent = "/tmp";
        for (var i = 0; ; i++)
        {
            var path = Path.Combine(parent, "vf-lv-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6)));
            try
            {
                // mkdir with mode 0700 fails if the name exists (never reuses someone else's folder).
                if (Directory.Exists(path)) continue;
                var info = Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                if (info.UnixFileMode != (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute))
                    throw new IOException($"{path} is not private (mode {info.UnixFileMode})");
                return path;
            }
            catch (IOException) when (i < 3) { }
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            Channels++;
            _ = Task.Run(() => Bridge(client));
        }
    }

    /// <summary>One libvirt connection: its own exec channel; bytes both ways until either side ends, then both close.</summary>
    private void Bridge(Socket client)
    {
        ShellChannel? cmd = null;
        var closed = 0;
        void Close()
        {
            if (Interlocked.Exchange(ref closed, 1) == 1) return;
            try { client.Dispose(); } catch (Exception) { }
            try { cmd?.Dispose(); } catch (Exception) { }
        }
        lock (_closers)
        {
            if (_stop.IsCancellationRequested) { client.Dispose(); return; }
            _closers.Add(Close);
        }
        try
        {
            cmd = _channel();
            _ = cmd.ExitAsync().ContinueWith(t => { _ = t.Exception; Close(); }, TaskScheduler.Default);
            var input = cmd.Stdin;
            var output = cmd.Stdout;
            var errors = cmd.Stderr;
            StartThread("libvirt stderr", () =>
            {
                var buffer = new byte[4096];
                int n;
                while ((n = errors.Read(buffer, 0, buffer.Length)) > 0)
                    lock (_stderr)
                    {
                        _stderr.Append(Encoding.UTF8.GetString(buffer, 0, n));
                        if (_stderr.Length > 2048) _stderr.Remove(0, _stderr.Length - 2048);
                    }
            });
            // host -> libvirt.so: SSH.NET's channel streams only block, so a thread of its own.
            StartThread("libvirt out", () =>
            {
                var buffer = new byte[64 * 1024];
                try
                {
                    int n;
                    while ((n = output.Read(buffer, 0, buffer.Length)) > 0) client.Send(buffer.AsSpan(0, n));
                }
                finally { Close(); }
            });
            // libvirt.so -> host
            StartThread("libvirt in", () =>
            {
                var buffer = new byte[64 * 1024];
                try
                {
                    int n;
                    while ((n = client.Receive(buffer)) > 0)
                    {
                        input.Write(buffer, 0, n);
                        input.Flush();
                    }
                }
                finally { Close(); }
            });
        }
        catch (Exception)
        {
            Close();
        }
    }

    private static void StartThread(string name, Action body) =>
        new Thread(() =>
        {
            try { body(); }
            catch (Exception) { /* a side closed: the bridge's Close ends the other */ }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "vf-" + name }.Start();

    public void Dispose()
    {
        _stop.Cancel();
        try { _listener.Dispose(); } catch (Exception) { }
        Action[] closers;
        lock (_closers) { closers = [.. _closers]; _closers.Clear(); }
        foreach (var close in closers) close();
        try { Directory.Delete(_folder, recursive: true); } catch (Exception) { /* already gone */ }
    }
}
