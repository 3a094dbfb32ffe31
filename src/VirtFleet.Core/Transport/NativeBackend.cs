using VirtFleet.LibvirtNative;

namespace VirtFleet.Transport;

/// <summary>
/// A host's libvirt through libvirt.so (<see cref="NativeLibvirtConnection"/>): over a tunnel to the host's libvirtd, or the
/// machine's own. libvirt's calls block, so each runs on a pool thread and is bounded by <paramref name="callTimeout"/>; a
/// call that times out or loses its connection reports it through <paramref name="broken"/> (the owner closes the tunnel,
/// which ends the stuck call) and fails with a ConnectionError or OperationTimeout naming the host.
/// </summary>
public sealed class NativeBackend(string hostName, NativeLibvirtConnection connection, TimeSpan callTimeout, Action<Exception>? broken = null)
    : ILibvirtBackend, IDisposable
{
    public string HostName => hostName;
    public LibvirtPath Path => LibvirtPath.Native;

    /// <summary>The connection's URI (a socket path, or qemu:///system), for diagnostics.</summary>
    public string Uri => connection.Uri;

    // The domains the last listing found, kept to ask for their XML again next time together with the states.
    private readonly object _knownLock = new();
    private List<NativeDomainRef> _known = [];

    /// <summary>
    /// The list with every state in one libvirt call (virConnectGetAllDomainStats) and, in flight at the same time over the
    /// connection, the XML of every domain the last listing found: one round trip for the host when its domains are the
    /// same as last time. A domain new since then has its XML asked for once the list is in (a second round trip); one gone
    /// since then is left out (the list decides which domains there are; every XML is read afresh each time).
    /// </summary>
    public async Task<IReadOnlyList<LibvirtDomain>> ListDomainsAsync(CancellationToken ct)
    {
        using var span = Util.VfTrace.Time($"{hostName} native listing");
        List<NativeDomainRef> known;
        lock (_knownLock) known = _known;
        var early = new Dictionary<Guid, Task<string?>>(known.Count);
        foreach (var k in known) early[k.Uuid] = CallAsync("read domain XML", () => XmlOrNull(k), ct);
        IReadOnlyList<NativeDomainRef> refs;
        try
        {
            refs = await CallAsync("list domains", connection.ListDomainStates, ct);
        }
        catch
        {
            foreach (var t in early.Values) _ = t.ContinueWith(x => _ = x.Exception, TaskScheduler.Default);
            throw;
        }
        var keep = false;
        try
        {
            var xml = refs.Select(r => early.TryGetValue(r.Uuid, out var t) ? t : null).ToArray();
            // New domains (and any whose early read found nothing) are read now, all at once.
            var late = new Task<string?>?[refs.Count];
            for (var i = 0; i < refs.Count; i++)
                if (xml[i] is null) { var r = refs[i]; late[i] = CallAsync("read domain XML", () => XmlOrNull(r), ct); }
            var domains = new List<LibvirtDomain>(refs.Count);
            for (var i = 0; i < refs.Count; i++)
            {
                var text = xml[i] is { } e ? await e : null;
                if (text is null)
                {
                    var r = refs[i];
                    text = late[i] is { } l ? await l : await CallAsync("read domain XML", () => XmlOrNull(r), ct);
                }
                if (text is not null) domains.Add(new LibvirtDomain(refs[i].Name, refs[i].Uuid, NativeDomainStates.ToVirshWord(refs[i].State), text));
            }
            // The early reads of domains gone meanwhile have ended too (their answers came with the list's).
            try { await Task.WhenAll(early.Values); } catch (Exception) { /* a domain gone: left out */ }
            List<NativeDomainRef> old;
            lock (_knownLock)
            {
                if (_disposed) old = [];
                else { old = _known; _known = [.. refs]; keep = true; }
            }
            foreach (var o in old) o.Dispose(); // a listing still using one sees ObjectDisposedException: it reads afresh
            return domains;
        }
        finally
        {
            if (!keep) foreach (var r in refs) r.Dispose();
        }
    }

    private bool _disposed;

    /// <summary>Lets go of the domains kept between listings (each holds a reference to the connection); before closing it.</summary>
    public void Dispose()
    {
        List<NativeDomainRef> old;
        lock (_knownLock) { _disposed = true; old = _known; _known = []; }
        foreach (var o in old) o.Dispose();
    }

    /// <summary>The XML, or null when the domain is gone (or its reference was let go by a listing meanwhile).</summary>
    private string? XmlOrNull(NativeDomainRef domain)
    {
        try { return connection.GetXml(domain); }
        catch (VfException e) when (e.ErrorId == "LibvirtDomainNotFound") { return null; }
        catch (ObjectDisposedException) when (domain.Handle.IsClosed) { return null; } // not when the connection is closed
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
