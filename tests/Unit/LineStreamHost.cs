using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Tests;

/// <summary>A host whose streamed command prints the given lines, then stays open until cancelled (or ends with <see cref="EndWith"/>).</summary>
public sealed class LineStreamHost(string name, params string[] lines) : IRemoteHost
{
    public HostEntry Host { get; } = new() { Name = name, Address = "198.51.100.9" };
    public List<string> Commands { get; } = [];
    public VfException? EndWith { get; set; }
    public TaskCompletionSource Go { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>As a host whose native path is up would answer (null: on virsh).</summary>
    public string? NativeLibvirtUri { get; set; }
    public int Opens { get; private set; }

    public Task<ILibvirtBackend> OpenLibvirtAsync(CancellationToken ct)
    {
        Opens++;
        return Task.FromResult<ILibvirtBackend>(new VirshBackend(this));
    }

    public Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null) =>
        Task.FromResult(new CommandResult(0, "", ""));

    public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) => Task.CompletedTask;

    public async Task StreamLinesAsync(string command, Action<string> onLine, CancellationToken ct)
    {
        Commands.Add(command);
        await Task.Yield();
        onLine(lines[0]);
        await Go.Task.WaitAsync(ct);
        foreach (var l in lines.Skip(1)) onLine(l);
        if (EndWith is not null) throw EndWith;
        await Task.Delay(Timeout.Infinite, ct);
    }
}
