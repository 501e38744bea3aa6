using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Interop;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Hypervisor;

/// <summary>
/// A counting host event a guest doorbell signals and a device thread waits on. On Linux it is an eventfd, so
/// the Kvm backend can hand it to the kernel (ioeventfd) and the emulator can signal the same object from its
/// exit path: devices wait on one kind of object. Elsewhere (the emulator on other hosts) it is a managed counter.
/// </summary>
public sealed class GuestEvent : IDisposable
{
    private readonly SafeFileHandle? _handle;
    private readonly ManagedCounter? _managed;

    /// <summary>Creates an unsignalled event (an eventfd on Linux).</summary>
    public GuestEvent() : this(OperatingSystem.IsLinux()) { }

    internal GuestEvent(bool useEventFd)
    {
        if (!useEventFd)
        {
            _managed = new ManagedCounter();
            return;
        }
        int fd = HostCalls.eventfd(0, HostCalls.EfdCloexec | HostCalls.EfdNonblock);
        if (fd < 0)
            throw new HypervisorException("Cannot create an eventfd: " + HostCalls.Describe(Marshal.GetLastPInvokeError()));
        _handle = new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The OS object (an eventfd) for backends that hand it to the kernel and for poll loops; null for a managed event.</summary>
    public SafeHandle? Handle => _handle;

    /// <summary>Adds one to the event's count and wakes a waiter; safe from any thread.</summary>
    public unsafe void Signal()
    {
        if (_managed is not null)
        {
            _managed.Add();
            return;
        }
        WithFd(fd =>
        {
            ulong one = 1;
            // Safe: writes 8 bytes from a local; the fd is kept open by WithFd.
            nint n = HostCalls.write(fd, &one, 8);
            if (n != 8 && Marshal.GetLastPInvokeError() != HostCalls.EAGAIN) // EAGAIN: count saturated, already signalled
                throw new HypervisorException("eventfd write failed: " + HostCalls.Describe(Marshal.GetLastPInvokeError()));
            return 0UL;
        });
    }

    /// <summary>Returns how many signals arrived since the last call and resets the count; 0 when none (does not block).</summary>
    public unsafe ulong Consume()
    {
        if (_managed is not null)
            return _managed.TakeAll();
        return WithFd(fd =>
        {
            ulong value = 0;
            // Safe: reads 8 bytes into a local; the fd is kept open by WithFd.
            nint n = HostCalls.read(fd, &value, 8);
            if (n == 8) return value;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == HostCalls.EAGAIN) return 0UL;
            throw new HypervisorException("eventfd read failed: " + HostCalls.Describe(errno));
        });
    }

    /// <summary>Waits until the event is signalled or the timeout passes; true when signalled (the count is left for <see cref="Consume"/>).</summary>
    public unsafe bool Wait(TimeSpan timeout)
    {
        if (_managed is not null)
            return _managed.Wait(timeout);
        return WithFd(fd =>
        {
            var pfd = new HostCalls.PollFd { Fd = fd, Events = HostCalls.PollIn };
            long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            while (true)
            {
                int remaining = (int)Math.Max(0, deadline - Environment.TickCount64);
                // Safe: poll reads and writes one PollFd on our stack.
                int r = HostCalls.poll(&pfd, 1, remaining);
                if (r > 0) return 1UL;
                if (r == 0) return 0UL;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != HostCalls.EINTR)
                    throw new HypervisorException("poll on eventfd failed: " + HostCalls.Describe(errno));
            }
        }) != 0;
    }

    private ulong WithFd(Func<int, ulong> action)
    {
        bool added = false;
        _handle!.DangerousAddRef(ref added); // keeps the fd number from being closed and reused during the call
        try
        {
            return action((int)_handle.DangerousGetHandle());
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    /// <summary>Closes the eventfd.</summary>
    public void Dispose()
    {
        _handle?.Dispose();
        _managed?.Dispose();
    }

    /// <summary>The non-Linux event: a count under a lock and a wake-up event.</summary>
    private sealed class ManagedCounter : IDisposable
    {
        private readonly ManualResetEventSlim _signalled = new(false);
        private ulong _count;

        public void Add()
        {
            lock (_signalled) { _count++; _signalled.Set(); }
        }

        public ulong TakeAll()
        {
            lock (_signalled) { ulong c = _count; _count = 0; _signalled.Reset(); return c; }
        }

        public bool Wait(TimeSpan timeout) => _signalled.Wait(timeout);

        public void Dispose() => _signalled.Dispose();
    }
}
