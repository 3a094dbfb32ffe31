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

    private NativeLibvirtConnection Connection => connection;

    /// <summary>The connection's URI (a socket path, or qemu:///system), for diagnostics.</summary>
    public string Uri => connection.Uri;

    // The domains the last listing found, kept to ask for their XML again next time together with the states.
    private readonly object _knownLock = new();
    private List<NativeDomainRef> _known = [];

    // Each domain's XML as the last listing read it, kept while libvirtd reports this connection every event of every
    // domain (WatchDomainChanges): an event of a domain drops its XML, and a listing keeps what it read only when no event
    // came while it read. _watching: 0 not tried yet, 1 watching, -1 not possible (then every listing reads every XML).
    private Dictionary<Guid, string> _xml = [];
    private long _changes;
    private int _watching;
    private int _xmlReads;

    /// <summary>Domain XMLs read from libvirtd so far (the rest came from what listings kept), for tests and diagnostics.</summary>
    public int XmlReads => Volatile.Read(ref _xmlReads);

    /// <summary>
    /// The list with every state in one libvirt call (virConnectGetAllDomainStats) and the XML of each domain: kept from
    /// the last listing when no event of the domain came since, else read, in flight at the same time as the list for the
    /// domains the last listing found. With every domain unchanged that is one call for the host. A domain new since then
    /// has its XML asked for once the list is in (a second round trip); one gone since then is left out.
    /// </summary>
    public async Task<IReadOnlyList<LibvirtDomain>> ListDomainsAsync(CancellationToken ct)
    {
        using var span = Util.VfTrace.Time($"{hostName} native listing");
        if (Volatile.Read(ref _watching) == 0) await WatchAsync(ct);
        var changes = Interlocked.Read(ref _changes);
        List<NativeDomainRef> known;
        Dictionary<Guid, string> kept;
        lock (_knownLock) (known, kept) = (_known, _xml);
        var early = new Dictionary<Guid, Task<string?>>(known.Count);
        foreach (var k in known)
            if (!kept.ContainsKey(k.Uuid)) early[k.Uuid] = CallAsync("read domain XML", () => XmlOrNull(k), ct);
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
                if (xml[i] is null && !kept.ContainsKey(refs[i].Uuid)) { var r = refs[i]; late[i] = CallAsync("read domain XML", () => XmlOrNull(r), ct); }
            var domains = new List<LibvirtDomain>(refs.Count);
            var read = new Dictionary<Guid, string>(refs.Count);
            for (var i = 0; i < refs.Count; i++)
            {
                var text = kept.GetValueOrDefault(refs[i].Uuid) ?? (xml[i] is { } e ? await e : null);
                if (text is null)
                {
                    var r = refs[i];
                    text = late[i] is { } l ? await l : await CallAsync("read domain XML", () => XmlOrNull(r), ct);
                }
                if (text is null) continue;
                domains.Add(new LibvirtDomain(refs[i].Name, refs[i].Uuid, NativeDomainStates.ToVirshWord(refs[i].State), text));
                read[refs[i].Uuid] = text;
            }
            // The early reads of domains gone meanwhile have ended too (their answers came with the list's).
            try { await Task.WhenAll(early.Values); } catch (Exception) { /* a domain gone: left out */ }
            List<NativeDomainRef> old;
            lock (_knownLock)
            {
                if (_disposed) old = [];
                else
                {
                    old = _known;
                    _known = [.. refs];
                    keep = true;
                    // What was read is kept only when no event came while it was read (it may be older than the event).
                    if (_watching == 1 && Interlocked.Read(ref _changes) == changes) _xml = read;
                }
            }
            foreach (var o in old) o.Dispose(); // a listing still using one sees ObjectDisposedException: it reads afresh
            return domains;
        }
        finally
        {
            if (!keep) foreach (var r in refs) r.Dispose();
        }
    }

    /// <summary>Subscribes to the domains' events, once; a connection that cannot have them reads every XML each time.</summary>
    private async Task WatchAsync(CancellationToken ct)
    {
        if (Interlocked.CompareExchange(ref _watching, 2, 0) != 0) return; // 2: being set up by another listing
        var watching = false;
        try { watching = await CallAsync("watch domain events", () => connection.WatchDomainChanges(Changed), ct); }
        catch (Exception ex) when (ex is VfException or InvalidOperationException) { }
        finally { Volatile.Write(ref _watching, watching ? 1 : -1); }
    }

    /// <summary>
    /// Forgets the XML kept of one domain (an event of it) or of all (null: an event of an unknown domain, or a change this
    /// process made on the host, whose events may still be on their way).
    /// </summary>
    public void Changed(Guid? domain)
    {
        lock (_knownLock)
        {
            Interlocked.Increment(ref _changes);
            if (domain is { } uuid && _xml.ContainsKey(uuid)) _xml = _xml.Where(kv => kv.Key != uuid).ToDictionary();
            else if (domain is null) _xml = [];
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
        Interlocked.Increment(ref _xmlReads);
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
            Changed(null); // its event may come after the next listing's answer
            return true;
        }, ct);

    /// <summary>
    /// The live move of <paramref name="name"/> to <paramref name="destination"/>'s libvirtd, driven from here over both native
    /// connections (<see cref="NativeLibvirtConnection.MigrateLive"/>), bounded by <paramref name="bound"/>: a move that is
    /// cancelled or runs past it is aborted on the source (the guest keeps running there) and fails. No host lock and no
    /// ownership check: the move holds the source's lock around it.
    /// </summary>
    public async Task MigrateLiveAsync(string name, NativeBackend destination, string destinationXml, string migrateUri, TimeSpan bound, CancellationToken ct)
    {
        var move = LibvirtThreads.Shared.Run(() => { connection.MigrateLive(name, destination.Connection, destinationXml, migrateUri); return true; });
        try
        {
            await move.WaitAsync(bound, ct);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // The blocked call returns with libvirt's error once its job is aborted.
            await LibvirtThreads.Shared.Run(() => connection.AbortJob(name));
            try { await move.WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None); } catch (Exception) { /* the aborted move's own error */ }
            if (ex is OperationCanceledException) throw;
            throw new VfException("MigrationTimeout", FailureKind.OperationTimeout,
                $"{hostName}: the move of {name} did not finish within {bound.TotalMinutes:0.#} min; it was aborted on the source.", name, ex);
        }
        catch (VfException ex) when (NamesNoHost(ex))
        {
            throw WithHost(ex);
        }
        finally
        {
            Changed(null);
            destination.Changed(null);
        }
    }

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
        catch (VfException ex) when (NamesNoHost(ex))
        {
            throw WithHost(ex);
        }
    }

    /// <summary>A libvirt error that does not name this host yet (libvirt's own errors name the domain or the call).</summary>
    private bool NamesNoHost(VfException ex) => ex.Target != hostName && !ex.Message.StartsWith(hostName + ":", StringComparison.Ordinal);

    /// <summary>The same error with this host's name before its message.</summary>
    private VfException WithHost(VfException ex) => new(ex.ErrorId, ex.Kind, $"{hostName}: {ex.Message}", ex.Target, ex);
}
