using HyperSharp.Hypervisor.Kvm.Interop;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>Converts between KVM's register structures and the backend-neutral state record.</summary>
internal static unsafe class KvmStateConversion
{
    public static SegmentRegister ToSegment(in KvmSegment s) => new(s.Selector, s.Base, s.Limit,
        (uint)(s.Type & 0xF) | (uint)(s.S & 1) << 4 | (uint)(s.Dpl & 3) << 5 | (uint)(s.Present & 1) << 7
        | (uint)(s.Avl & 1) << 12 | (uint)(s.L & 1) << 13 | (uint)(s.Db & 1) << 14 | (uint)(s.G & 1) << 15 | (uint)(s.Unusable & 1) << 16);

    public static KvmSegment FromSegment(SegmentRegister s) => new()
    {
        Selector = s.Selector, Base = s.Base, Limit = s.Limit,
        Type = (byte)(s.Attributes & 0xF), S = Bit(s.Attributes, 4), Dpl = (byte)((s.Attributes >> 5) & 3), Present = Bit(s.Attributes, 7),
        Avl = Bit(s.Attributes, 12), L = Bit(s.Attributes, 13), Db = Bit(s.Attributes, 14), G = Bit(s.Attributes, 15), Unusable = Bit(s.Attributes, 16),
    };

    private static byte Bit(uint value, int bit) => (byte)((value >> bit) & 1);

    /// <summary>General registers in encoding order from KVM's (rax rbx rcx rdx rsi rdi rsp rbp ...) order.</summary>
    public static ulong[] ToGeneral(in KvmRegs r) =>
        [r.Rax, r.Rcx, r.Rdx, r.Rbx, r.Rsp, r.Rbp, r.Rsi, r.Rdi, r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15];

    public static KvmRegs FromGeneral(VirtualProcessorState s)
    {
        var g = s.GeneralRegisters;
        if (g.Length != 16) throw new HypervisorException($"State has {g.Length} general registers; 16 expected.");
        return new KvmRegs
        {
            Rax = g[0], Rcx = g[1], Rdx = g[2], Rbx = g[3], Rsp = g[4], Rbp = g[5], Rsi = g[6], Rdi = g[7],
            R8 = g[8], R9 = g[9], R10 = g[10], R11 = g[11], R12 = g[12], R13 = g[13], R14 = g[14], R15 = g[15],
            Rip = s.Rip, Rflags = s.Rflags,
        };
    }

    /// <summary>kvm_fpu → the 512-byte FXSAVE image (64-bit layout).</summary>
    public static byte[] ToFxSave(in KvmFpu f)
    {
        var image = new byte[512];
        fixed (byte* d = image)
        fixed (KvmFpu* src = &f)
        {
            // Safe: all writes are at fixed offsets below 416 in a 512-byte array; reads stay inside the struct.
            *(ushort*)d = f.Fcw;
            *(ushort*)(d + 2) = f.Fsw;
            d[4] = f.Ftwx;
            *(ushort*)(d + 6) = f.LastOpcode;
            *(ulong*)(d + 8) = f.LastIp;
            *(ulong*)(d + 16) = f.LastDp;
            *(uint*)(d + 24) = f.Mxcsr;
            new ReadOnlySpan<byte>(src->Fpr, 128).CopyTo(new Span<byte>(d + 32, 128));
            new ReadOnlySpan<byte>(src->Xmm, 256).CopyTo(new Span<byte>(d + 160, 256));
        }
        return image;
    }

    /// <summary>The FXSAVE image → kvm_fpu.</summary>
    public static KvmFpu FromFxSave(byte[] image)
    {
        if (image.Length < 416) throw new HypervisorException("FXSAVE image is shorter than 416 bytes.");
        var f = new KvmFpu();
        fixed (byte* s = image)
        {
            // Safe: reads at fixed offsets below 416 of an array checked to be at least that long.
            f.Fcw = *(ushort*)s;
            f.Fsw = *(ushort*)(s + 2);
            f.Ftwx = s[4];
            f.LastOpcode = *(ushort*)(s + 6);
            f.LastIp = *(ulong*)(s + 8);
            f.LastDp = *(ulong*)(s + 16);
            f.Mxcsr = *(uint*)(s + 24);
            new ReadOnlySpan<byte>(s + 32, 128).CopyTo(new Span<byte>(f.Fpr, 128));
            new ReadOnlySpan<byte>(s + 160, 256).CopyTo(new Span<byte>(f.Xmm, 256));
        }
        return f;
    }

    public static PendingEvents ToEvents(in KvmVcpuEvents e) => new()
    {
        ExceptionInjected = e.ExceptionInjected != 0, ExceptionPending = e.ExceptionPending != 0, ExceptionVector = e.ExceptionNr,
        ExceptionHasErrorCode = e.ExceptionHasErrorCode != 0, ExceptionErrorCode = e.ExceptionErrorCode,
        InterruptInjected = e.InterruptInjected != 0, InterruptVector = e.InterruptNr, InterruptSoft = e.InterruptSoft != 0,
        InterruptShadow = e.InterruptShadow, NmiInjected = e.NmiInjected != 0, NmiPending = e.NmiPending != 0,
        NmiMasked = e.NmiMasked != 0, SipiVector = e.SipiVector,
    };

    public static KvmVcpuEvents FromEvents(in PendingEvents e) => new()
    {
        ExceptionInjected = B(e.ExceptionInjected), ExceptionPending = B(e.ExceptionPending), ExceptionNr = e.ExceptionVector,
        ExceptionHasErrorCode = B(e.ExceptionHasErrorCode), ExceptionErrorCode = e.ExceptionErrorCode,
        InterruptInjected = B(e.InterruptInjected), InterruptNr = e.InterruptVector, InterruptSoft = B(e.InterruptSoft),
        InterruptShadow = e.InterruptShadow, NmiInjected = B(e.NmiInjected), NmiPending = B(e.NmiPending), NmiMasked = B(e.NmiMasked),
        SipiVector = e.SipiVector,
        Flags = KvmIoctl.VcpuEventValidNmiPending | KvmIoctl.VcpuEventValidSipiVector | KvmIoctl.VcpuEventValidShadow,
    };

    private static byte B(bool value) => value ? (byte)1 : (byte)0;
}
