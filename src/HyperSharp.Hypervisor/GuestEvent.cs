using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Interop;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Hypervisor;

/// <summary>
/// A counting host event a guest doorbell signals and a device thread waits on (a Linux eventfd).
/// An eventfd rather than a managed event so the Kvm backend can hand it to the kernel (ioeventfd) and
/// the emulator can signal the same object from its exit path: devices wait on one kind of object.
/// </summary>
public sealed class GuestEvent : IDisposable
{
    private readonly SafeFileHandle _handle;

    /// <summary>Creates an unsignalled event.</summary>
    public GuestEvent()
    {
        int fd = HostCalls.eventfd(0, HostCalls.EfdCloexec | HostCalls.EfdNonblock);
        if (fd < 0)
            throw new HypervisorException("Cannot create an eventfd: " + HostCalls.Describe(Marshal.GetLastPInvokeError()));
        _handle = new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The OS object (eventfd), for backends that hand it to the kernel and for poll loops over many events.</summary>
    public SafeHandle Handle => _handle;

    /// <summary>Adds one to the event's count and wakes a waiter; safe from any thread.</summary>
    public unsafe void Signal()
    {
        ulong one = 1;
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            // Safe: writes 8 bytes from a local; the fd is kept open by the AddRef above.
            nint n = HostCalls.write((int)_handle.DangerousGetHandle(), &one, 8);
            if (n != 8 && Marshal.GetLastPInvokeError() != HostCalls.EAGAIN) // EAGAIN: count saturated, already signalled
                throw new HypervisorException("eventfd write failed: " + HostCalls.Describe(Marshal.GetLastPInvokeError()));
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    /// <summary>Returns how many signals arrived since the last call and resets the count; 0 when none (does not block).</summary>
    public unsafe ulong Consume()
    {
        ulong value = 0;
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            // Safe: reads 8 bytes into a local; the fd is kept open by the AddRef above.
            nint n = HostCalls.read((int)_handle.DangerousGetHandle(), &value, 8);
            if (n == 8) return value;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == HostCalls.EAGAIN) return 0;
            throw new HypervisorException("eventfd read failed: " + HostCalls.Describe(errno));
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    /// <summary>Waits until the event is signalled or the timeout passes; true when signalled (the count is left for <see cref="Consume"/>).</summary>
    public unsafe bool Wait(TimeSpan timeout)
    {
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            var pfd = new HostCalls.PollFd { Fd = (int)_handle.DangerousGetHandle(), Events = HostCalls.PollIn };
            long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            while (true)
            {
                int remaining = (int)Math.Max(0, deadline - Environment.TickCount64);
                // Safe: poll reads and writes one PollFd on our stack.
                int r = HostCalls.poll(&pfd, 1, remaining);
                if (r > 0) return true;
                if (r == 0) return false;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != HostCalls.EINTR)
                    throw new HypervisorException("poll on eventfd failed: " + HostCalls.Describe(errno));
            }
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    /// <summary>Closes the eventfd.</summary>
    public void Dispose() => _handle.Dispose();
}
