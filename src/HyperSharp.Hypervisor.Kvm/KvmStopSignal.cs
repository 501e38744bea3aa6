using HyperSharp.Hypervisor.Kvm.Interop;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>
/// The real-time signal that kicks a vCPU thread out of KVM_RUN. Its handler must do nothing and must be
/// native code: a managed handler is not async-signal-safe. So the handler is one `ret` instruction in an
/// executable page of its own, installed once per process (and only if nobody else owns the signal).
/// </summary>
internal static unsafe class KvmStopSignal
{
    private const int SaRestart = 0x10000000; // other syscalls of the thread restart; KVM_RUN still returns EINTR
    private static readonly Lazy<int> s_number = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The signal number, installing the handler on first use.</summary>
    public static int Number => s_number.Value;

    private static int Install()
    {
        // SIGRTMIN itself is the .NET runtime's activation signal; +4 keeps clear of it and of common libraries.
        int signal = Libc.CurrentSigRtMin() + 4;

        nint page = Libc.Mmap(0, 4096, Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        if (page == Libc.MapFailed)
            throw new HypervisorException("Cannot map a page for the vCPU stop-signal handler: " + Libc.LastError());
        // Safe: the page was just mapped writable and is 4096 bytes; 0xC3 is `ret`, a complete no-op handler.
        *(byte*)page = 0xC3;
        if (Libc.Mprotect(page, 4096, Libc.ProtRead | Libc.ProtExec) != 0)
            throw new HypervisorException("Cannot make the vCPU stop-signal handler executable: " + Libc.LastError());

        Libc.SigAction old;
        var action = new Libc.SigAction { Handler = page, Flags = SaRestart };
        // Safe: both structs are glibc's struct sigaction layout (size checked in StructSizes), on the stack.
        if (Libc.Sigaction(signal, null, &old) != 0)
            throw new HypervisorException($"sigaction({signal}) failed: {Libc.LastError()}");
        if (old.Handler != 0 /* SIG_DFL */)
            throw new HypervisorException($"Signal {signal} (SIGRTMIN+4), used to stop vCPUs, already has a handler in this process; cannot install ours.");
        if (Libc.Sigaction(signal, &action, null) != 0)
            throw new HypervisorException($"sigaction({signal}) failed: {Libc.LastError()}");
        // The page stays mapped for the life of the process: the handler may run at any time.
        return signal;
    }
}
