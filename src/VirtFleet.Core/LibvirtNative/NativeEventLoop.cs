namespace VirtFleet.LibvirtNative;

/// <summary>
/// libvirt's default event loop, registered once before any connection opens (libvirt needs it for events and keepalive)
/// and run by one background thread for the process: it sleeps in poll() until a connection has something to say.
/// </summary>
internal static class NativeEventLoop
{
    private static Thread? _thread;

    /// <summary>True once the loop is registered and its thread runs.</summary>
    public static bool Running => _thread is not null;

    /// <summary>Registers the default implementation and starts its thread; called once, from <see cref="NativeLibvirt"/>'s set-up.</summary>
    public static bool Start()
    {
        if (_thread is not null) return true;
        if (LibvirtEventApi.virEventRegisterDefaultImpl() < 0) return false;
        _thread = new Thread(Run, maxStackSize: 512 * 1024) { IsBackground = true, Name = "vf-libvirt-events" };
        _thread.Start();
        return true;
    }

    private static void Run()
    {
        var failures = 0;
        while (true)
        {
            // One iteration: waits for the next timer or I/O, then dispatches its callbacks on this thread.
            if (LibvirtEventApi.virEventRunDefaultImpl() == 0) { failures = 0; continue; }
            LibvirtApi.virResetLastError();
            // Only a broken loop returns errors; back off instead of spinning.
            Thread.Sleep(Math.Min(1000, 10 << Math.Min(failures++, 6)));
        }
    }
}
