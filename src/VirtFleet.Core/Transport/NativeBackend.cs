using VirtFleet.LibvirtNative;

namespace VirtFleet.Transport;

/// <summary>
/// A host's libvirt through libvirt.so (<see cref="NativeLibvirtConnection"/>): over a tunnel to the host's libvirtd, or the
/// machine's own. libvirt's calls block, so each runs on a pool thread and is bounded by <paramref name="callTimeout"/>; a
/// call that times out or loses its connection reports it through <paramref name="broken"/> (the owner closes the tunnel,
/// which ends the stuck call) and fails with a ConnectionError or OperationTimeout naming the host.
/// </summary>
public sealed class NativeBackend(string hostName, NativeLibvirtConnection connection, TimeSpan callTimeout, Action<Exception>? broken = null)
    : ILibvirtBackend
{
    public string HostName => hostName;
    public LibvirtPath Path => LibvirtPath.Native;

    /// <summary>The connection's URI (a socket path, or qemu:///system), for diagnostics.</summary>
    public string Uri => connection.Uri;

    /// <summary>
    /// The list with every state in one libvirt call, then every domain's XML asked for at once (in flight together over the
    /// tunnel): two round trips for the host however many domains it has.
    /// </summary>
    public async Task<IReadOnlyList<LibvirtDomain>> ListDomainsAsync(CancellationToken ct)
    {
        var refs = await CallAsync("list domains", connection.ListDomainStates, ct);
        try
        {
            var xml = await Task.WhenAll(refs.Select(r => CallAsync("read domain XML", () =>
            {
                try { return connection.GetXml(r); }
                catch (VfException e) when (e.ErrorId == "LibvirtDomainNotFound") { return null; } // removed meanwhile
            }, ct)));
            var domains = new List<LibvirtDomain>(refs.Count);
            for (var i = 0; i < refs.Count; i++)
                if (xml[i] is { } text) domains.Add(new LibvirtDomain(refs[i].Name, refs[i].Uuid, NativeDomainStates.ToVirshWord(refs[i].State), text));
            return domains;
        }
        finally
        {
            foreach (var r in refs) r.Dispose();
        }
    }

    public Task<LibvirtDomain?> GetDomainAsync(string name, CancellationToken ct) =>
        CallAsync("read domain", () =>
        {
            try { return ToDomain(connection.GetDomain(name, includeXml: true)); }
            catch (VfException e) when (e.ErrorId == "LibvirtDomainNotFound") { return null; }
        }, ct);

    public Task ActAsync(string name, LibvirtAction action, CancellationToken ct) =>
        CallAsync("act", () =>
        {
            connection.Act(name, action switch
            {
                LibvirtAction.Start => NativeDomainAction.Start,
                LibvirtAction.Shutdown => NativeDomainAction.Shutdown,
                LibvirtAction.Destroy => NativeDomainAction.Destroy,
                LibvirtAction.Suspend => NativeDomainAction.Suspend,
                LibvirtAction.Resume => NativeDomainAction.Resume,
                _ => throw new ArgumentOutOfRangeException(nameof(action)),
            });
            return true;
        }, ct);

    private static LibvirtDomain ToDomain(NativeDomain d) => new(d.Name, d.Uuid, d.LibvirtState, d.Xml ?? "");

    /// <summary>
    /// Runs a blocking libvirt call on a pool thread within the call timeout. libvirt's own errors (no such domain, invalid
    /// operation) pass through with the host named; a lost or stuck connection is reported as broken.
    /// </summary>
    private async Task<T> CallAsync<T>(string what, Func<T> call, CancellationToken ct)
    {
        var task = LibvirtThreads.Shared.Run(call);
        try
        {
            return await task.WaitAsync(callTimeout, ct);
        }
        catch (TimeoutException ex)
        {
            _ = task.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            var error = new VfException("LibvirtTimeout", FailureKind.OperationTimeout,
                $"{hostName}: libvirt did not answer '{what}' within {callTimeout.TotalSeconds:0.#} s over the native path; it was closed.", hostName, ex);
            broken?.Invoke(error);
            throw error;
        }
        catch (OperationCanceledException)
        {
            _ = task.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            throw;
        }
        catch (VfException ex) when (ex.Kind is FailureKind.ConnectionError || ex.ErrorId is "LibvirtCallFailed" && !connection.IsAlive)
        {
            var error = new VfException("LibvirtConnectionLost", FailureKind.ConnectionError,
                $"{hostName}: the native libvirt connection failed during '{what}': {ex.Message}", hostName, ex);
            broken?.Invoke(error);
            throw error;
        }
        catch (VfException ex) when (ex.Target != hostName && !ex.Message.StartsWith(hostName + ":", StringComparison.Ordinal))
        {
            throw new VfException(ex.ErrorId, ex.Kind, $"{hostName}: {ex.Message}", ex.Target, ex);
        }
    }
}
