using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Threading.Channels;
using VirtFleet.Transport.Keeper;

namespace VirtFleet.Shell;

/// <summary>
/// vfsh --serve: the user's warm shell. It keeps the engine started and the module imported in a fresh runspace, and
/// runs the -Command / -File of later vfsh processes of the same user in it, one command at a time, each in a runspace
/// of its own (nothing one command defines is seen by the next), in the caller's folder and environment, with its
/// output, prompts and exit code relayed to the caller. Its connections are the connection keeper's. Its socket is
/// in the keeper folder (0700) and it serves only its own user (peer credentials). It ends after the keeper's idle time
/// without a command, when the connection keeper it saw ends (Disconnect-VfHost -All), or on SIGTERM.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class WarmShellServer
{
    [DllImport("libc", EntryPoint = "setsid")]
    private static extern int SetSid();

    private readonly string _socketPath;
    private readonly string _module;
    private readonly IDictionary _ownEnvironment = Environment.GetEnvironmentVariables();
    private readonly string _ownFolder = Environment.CurrentDirectory;
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task<(ConsoleHost Host, Runspace Runspace)> _next;
    private long _lastCommand = Environment.TickCount64;
    private volatile bool _keeperSeen;

    private WarmShellServer(string module)
    {
        _module = module;
        _socketPath = WarmShellWire.SocketPath(module);
        _next = Task.Run(Open);
    }

    public static int Serve(string module)
    {
        // Its own session: a Ctrl+C or hangup meant for the command that started it does not end it.
        SetSid();
        if (KeeperSettings.FolderProblem(KeeperSettings.Folder) is not null) return 2;
        var server = new WarmShellServer(module);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; server._stop.Cancel(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        server.Run();
        return 0;
    }

    private (ConsoleHost, Runspace) Open()
    {
        var host = new ConsoleHost(ConsoleTerminal.Instance);
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(_module);
        var runspace = RunspaceFactory.CreateRunspace(host, iss);
        runspace.Open();
        return (host, runspace);
    }

    private void Run()
    {
        // A shell already answering there is left alone (two first commands at once start two; one stays).
        using var listener = KeeperSettings.ListenAsync(_socketPath, 32, () => Task.FromResult(Answers(_socketPath))).GetAwaiter().GetResult();
        if (listener is null) return;
        _ = Task.Run(WatchAsync);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = listener.AcceptAsync(_stop.Token).AsTask().GetAwaiter().GetResult();
                _ = Task.Run(() => Serve(client));
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            listener.Close();
            if (!Answers(_socketPath)) File.Delete(_socketPath);
        }
    }

    private static bool Answers(string path)
    {
        if (!File.Exists(path)) return false;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { probe.Connect(new UnixDomainSocketEndPoint(path)); return true; }
        catch (SocketException) { return false; }
    }

    /// <summary>Ends the shell when idle, or when the connection keeper it has seen is gone (Disconnect-VfHost -All).</summary>
    private async Task WatchAsync()
    {
        var idle = KeeperSettings.Idle.TotalMilliseconds;
        NoteKeeper();
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await tick.WaitForNextTickAsync(_stop.Token))
            {
                var keeperGone = _keeperSeen && !File.Exists(KeeperSettings.Socket);
                NoteKeeper();
                if (_one.CurrentCount == 1 && (keeperGone || Environment.TickCount64 - Interlocked.Read(ref _lastCommand) > idle))
                    _stop.Cancel();
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Notes that the connection keeper is there (checked on each tick and after each command, which may have started it).</summary>
    private void NoteKeeper()
    {
        if (File.Exists(KeeperSettings.Socket)) _keeperSeen = true;
    }

    private void Serve(Socket client)
    {
        using var owned = client;
        if (!PeerCredentials.IsSameUser(client, out _)) return;
        using var stream = new NetworkStream(client, ownsSocket: false);
        var send = new WarmShellWire.Sender(stream);
        client.ReceiveTimeout = 10_000;
        Command command;
        try
        {
            if (WarmShellWire.Read(stream) is not { } r || r.ReadByte() != WarmShellWire.Request) return;
            command = Command.Read(r);
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or EndOfStreamException) { return; }
        client.ReceiveTimeout = 0;
        // One command at a time (the environment and folder are the process's); the caller of a busy shell runs its own.
        if (!Fits(command) || !_one.Wait(0))
        {
            send.Send(WarmShellWire.Frame(WarmShellWire.Busy));
            return;
        }
        ConsoleHost host;
        Runspace runspace;
        try
        {
            (host, runspace) = _next.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            // The module would not import: the caller runs the command itself and shows why.
            _next = Task.Run(Open);
            _one.Release();
            send.Send(WarmShellWire.Frame(WarmShellWire.Busy));
            return;
        }
        var code = 1;
        var terminal = new RemoteTerminal(command, send);
        var (stdin, stdout, stderr) = (Console.In, Console.Out, Console.Error);
        try
        {
            Apply(command.Environment, command.Folder);
            // [Console]::In/Out/Error in the command are the caller's too (one command at a time, so they can be).
            Console.SetIn(new StreamReader(new CallerStream(read: terminal.ReadInput)));
            Console.SetOut(new StreamWriter(new CallerStream(write: terminal.Out)) { AutoFlush = true });
            Console.SetError(new StreamWriter(new CallerStream(write: terminal.Error)) { AutoFlush = true });
            runspace.SessionStateProxy.Path.SetLocation(WildcardPattern.Escape(command.Folder));
            host.Terminal = terminal;
            _ = Task.Run(() => terminal.ReadFromClient(stream));
            code = command.IsFile
                ? host.Run(runspace, ps => { ps.AddCommand(command.Text); foreach (var a in command.FileArgs) ps.AddArgument(a); }, terminal.Stopped)
                : host.Run(runspace, ps => ps.AddScript(command.Text), terminal.Stopped);
        }
        catch (Exception ex)
        {
            terminal.Error($"vfsh: {ex.Message}{Environment.NewLine}");
        }
        finally
        {
            Console.Out.Flush();
            Console.Error.Flush();
            Console.SetIn(stdin);
            Console.SetOut(stdout);
            Console.SetError(stderr);
            send.Send(WarmShellWire.Frame(WarmShellWire.Exit, w => w.Write(code)));
            host.Terminal = ConsoleTerminal.Instance;
            Apply(_ownEnvironment, _ownFolder);
            NoteKeeper();
            Interlocked.Exchange(ref _lastCommand, Environment.TickCount64);
            // The next command's runspace opens while nobody waits; this one closes (and its sessions with it).
            _next = Task.Run(() =>
            {
                runspace.Dispose();
                return Open();
            });
            _one.Release();
        }
    }

    /// <summary>A command fits this shell when it has the settings the shell was made with (its socket name says so too).</summary>
    private bool Fits(Command command) =>
        WarmShellWire.MadeWith.All(name => Equals(command.Environment[name], _ownEnvironment[name]));

    /// <summary>Makes the process's environment and folder those given (variables not there are removed).</summary>
    private static void Apply(IDictionary environment, string folder)
    {
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (!environment.Contains(e.Key)) Environment.SetEnvironmentVariable((string)e.Key, null);
        foreach (DictionaryEntry e in environment)
            if (Environment.GetEnvironmentVariable((string)e.Key) != (string?)e.Value) Environment.SetEnvironmentVariable((string)e.Key, (string?)e.Value);
        Environment.CurrentDirectory = folder;
    }

    /// <summary>What a caller sent: its command, folder, environment and console.</summary>
    private sealed record Command(bool IsFile, string Text, List<string> FileArgs, string Folder, Hashtable Environment,
        bool Colors, bool ErrorIsTerminal, bool Interactive, int Width)
    {
        public static Command Read(BinaryReader r)
        {
            var isFile = r.ReadBoolean();
            var text = r.ReadString();
            var args = new List<string>();
            for (var n = r.ReadInt32(); n > 0; n--) args.Add(r.ReadString());
            var folder = r.ReadString();
            var env = new Hashtable(StringComparer.Ordinal);
            for (var n = r.ReadInt32(); n > 0; n--) env[r.ReadString()] = r.ReadString();
            return new Command(isFile, text, args, folder, env, r.ReadBoolean(), r.ReadBoolean(), r.ReadBoolean(), r.ReadInt32());
        }
    }

    /// <summary>The caller's console, reached through its socket.</summary>
    private sealed class RemoteTerminal(Command command, WarmShellWire.Sender send) : Terminal
    {
        private readonly Channel<string?> _answers = Channel.CreateUnbounded<string?>();
        private readonly Channel<byte[]> _input = Channel.CreateUnbounded<byte[]>();
        private readonly CancellationTokenSource _stop = new();

        /// <summary>Cancelled by the caller's Ctrl+C or its going away, whenever it comes: before the command began too.</summary>
        public CancellationToken Stopped => _stop.Token;

        public override bool Colors => command.Colors;
        public override bool ErrorIsTerminal => command.ErrorIsTerminal;
        public override bool Interactive => command.Interactive;
        public override int Width => command.Width;
        public override void Out(string text) => send.Send(WarmShellWire.Frame(WarmShellWire.Out, w => w.Write(text)));
        public override void Error(string text) => send.Send(WarmShellWire.Frame(WarmShellWire.Error, w => w.Write(text)));
        public override string? ReadLine() => Ask(WarmShellWire.AskLine);
        public override string ReadSecret() => Ask(WarmShellWire.AskSecret) ?? "";

        private string? Ask(byte kind)
        {
            if (!send.Send(WarmShellWire.Frame(kind))) return null;
            return _answers.Reader.TryRead(out var ready) ? ready : _answers.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult() && _answers.Reader.TryRead(out var line) ? line : null;
        }

        /// <summary>Up to <paramref name="count"/> bytes of the caller's standard input; empty at its end.</summary>
        public byte[] ReadInput(int count)
        {
            if (!send.Send(WarmShellWire.Frame(WarmShellWire.AskInput, w => w.Write(count)))) return [];
            return _input.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult() && _input.Reader.TryRead(out var bytes) ? bytes : [];
        }

        /// <summary>The caller's answers and Ctrl+C; its going away stops the command.</summary>
        public void ReadFromClient(Stream stream)
        {
            try
            {
                while (WarmShellWire.Read(stream) is { } r)
                    switch (r.ReadByte())
                    {
                        case WarmShellWire.Answer: _answers.Writer.TryWrite(r.ReadBoolean() ? r.ReadString() : null); break;
                        case WarmShellWire.Input: _input.Writer.TryWrite(r.ReadBytes(r.ReadInt32())); break;
                        case WarmShellWire.Stop:
                            _stop.Cancel();
                            _input.Writer.TryWrite([]); // a read of standard input waiting for the caller ends
                            break;
                    }
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or EndOfStreamException or ObjectDisposedException) { }
            _stop.Cancel();
            _answers.Writer.TryComplete();
            _input.Writer.TryComplete();
        }
    }

    /// <summary>The caller's standard input (read on demand: only a command that reads it asks), output or error, as a stream.</summary>
    private sealed class CallerStream(Func<int, byte[]>? read = null, Action<string>? write = null) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var bytes = (read ?? throw new NotSupportedException())(Math.Min(count, 64 << 10));
            bytes.CopyTo(buffer, offset);
            return bytes.Length;
        }

        /// <summary>Each write goes to the caller as one frame of text.</summary>
        public override void Write(byte[] buffer, int offset, int count) =>
            (write ?? throw new NotSupportedException())(System.Text.Encoding.UTF8.GetString(buffer, offset, count));

        public override bool CanRead => read is not null;
        public override bool CanSeek => false;
        public override bool CanWrite => write is not null;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
