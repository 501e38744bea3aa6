using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>Issues KVM ioctls and turns failures into <see cref="HypervisorException"/> naming the operation and the errno.</summary>
internal static unsafe class KvmCall
{
    /// <summary>ioctl with a pointer argument; retries EINTR/EAGAIN (which KVM returns for transient conditions) and throws on failure.</summary>
    public static int Ioctl(int fd, nuint request, void* arg, string what)
    {
        while (true)
        {
            int r = Libc.Ioctl(fd, request, arg);
            if (r >= 0) return r;
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.EINTR or Libc.EAGAIN) continue;
            throw new HypervisorException($"KVM {what} failed: {Libc.Describe(errno)}.");
        }
    }

    /// <summary>ioctl with an integer argument.</summary>
    public static int Ioctl(int fd, nuint request, nint arg, string what) => Ioctl(fd, request, (void*)arg, what);

    /// <summary>ioctl returning -errno instead of throwing, for callers that handle specific errors.</summary>
    public static int TryIoctl(int fd, nuint request, void* arg)
    {
        while (true)
        {
            int r = Libc.Ioctl(fd, request, arg);
            if (r >= 0) return r;
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.EINTR or Libc.EAGAIN) continue;
            return -errno;
        }
    }
}
