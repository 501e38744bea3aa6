using HyperSharp.Hypervisor;

namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>
/// Serves each live virtqueue's notifications on a thread of its own, as the I/O path in ARCHITECTURE.md
/// has it: the guest's write to the queue's notify address signals an event the backend holds (ioeventfd
/// on KVM, the emulator's store path) instead of stopping a vCPU until the request is done. A queue whose
/// doorbell cannot be registered, or a write the doorbell does not match (another width), still arrives as
/// an ordinary MMIO write and is served on that vCPU thread; the device's per-queue gate keeps the two from
/// serving one queue at once.
/// </summary>
internal sealed class QueueNotifyThreads(string deviceName, Func<Doorbell, GuestEvent, IDisposable> register, Action<int> serve, Action<string> log)
{
    private readonly List<Worker> _workers = [];
    private readonly string _deviceName = deviceName;
    private readonly Action<int> _serve = serve;
    private readonly Action<string> _log = log;

    /// <summary>Starts a thread for each enabled queue; the queue's notify register is at <paramref name="notifyBase"/> + i × multiplier.</summary>
    public void Start(ulong notifyBase, uint multiplier, IReadOnlyList<bool> enabled)
    {
        Stop();
        for (int i = 0; i < enabled.Count; i++)
        {
            if (!enabled[i]) continue;
            // Linux writes the queue index as 16 bits (virtio 1.x, 4.1.4.4); any value rings.
            var worker = new Worker(this, i, new GuestEvent());
            try { worker.Registration = register(new Doorbell(AddressSpace.Mmio, notifyBase + (ulong)i * multiplier, 2), worker.Event); }
            catch (HypervisorException) { worker.Event.Dispose(); continue; } // served on the vCPU thread instead
            worker.Thread.Start();
            _workers.Add(worker);
        }
    }

    /// <summary>
    /// Unregisters the doorbells and lets the threads end. Does not wait for a request in progress (the caller
    /// may hold the device lock that request needs to raise its interrupt); <see cref="Quiesce"/> is the wait.
    /// </summary>
    public void Stop()
    {
        foreach (var w in _workers) w.Retire();
        _workers.Clear();
    }

    /// <summary>Serves any notification not yet taken by its thread (before saving state: none may be lost).</summary>
    public void ServePending()
    {
        foreach (var w in _workers)
            if (w.Event.Consume() > 0) _serve(w.Queue);
    }

    private sealed class Worker
    {
        private readonly QueueNotifyThreads _owner;
        private volatile bool _retired;

        public Worker(QueueNotifyThreads owner, int queue, GuestEvent ev)
        {
            _owner = owner;
            Queue = queue;
            Event = ev;
            Thread = new Thread(Loop) { IsBackground = true, Name = $"{owner._deviceName}-q{queue}" };
        }

        public int Queue { get; }
        public GuestEvent Event { get; }
        public Thread Thread { get; }
        public IDisposable? Registration { get; set; }

        public void Retire()
        {
            Registration?.Dispose();
            _retired = true;
            // Wake the thread so it sees the flag and disposes the event; it may have done so already.
            try { Event.Signal(); } catch (ObjectDisposedException) { }
        }

        private void Loop()
        {
            try
            {
                while (!_retired)
                {
                    if (!Event.Wait(TimeSpan.FromSeconds(1)) || _retired) continue;
                    if (Event.Consume() > 0) _owner._serve(Queue);
                }
            }
            catch (Exception e) when (!_retired)
            {
                // Not a guest error (those mark the device broken); the queue now waits on vCPU-thread notifies.
                _owner._log($"{_owner._deviceName}: queue {Queue} notify thread failed: {e.Message}");
            }
            catch (Exception) { } // torn down while serving: the VM is going away
            finally { Event.Dispose(); }
        }
    }
}
