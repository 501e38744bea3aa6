using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential;

/// <summary>
/// Runs one unprivileged instruction on the host processor, in this process, as the oracle for
/// differential tests: a harness loads the GPRs and RFLAGS from a block, executes the instruction,
/// and stores GPRs and RFLAGS back. RSP and RDI belong to the harness; RBP points at a scratch buffer
/// that memory operands address. (The Kvm backend will give the same oracle for whole guest programs.)
/// </summary>
internal sealed unsafe partial class NativeRunner : IDisposable
{
    public const int DataSize = 512;
    private const int CodeSize = 4096;
    private readonly byte* _code;
    public readonly byte* Data;
    private readonly ulong* _block; // in: 16 regs + flags; out: 16 regs + flags; then XMM0-7 in (at 34), out (at 50)
    private const int XmmIn = 34, XmmOut = 50;
    /// <summary>Byte offsets of the FXSAVE images (x87 state) loaded before and saved after the instruction.</summary>
    private const int FxIn = 1024, FxOut = 1536, MxcsrIn = 1016, MxcsrSaved = 1020;
    /// <summary>MXCSR loaded before the instruction when there is no <see cref="FxImage"/> (its exceptions must stay
    /// masked: an #XM here would be a SIGFPE in the test process); after it, MXCSR is in the saved image's bytes 24-27.</summary>
    public uint Mxcsr { get; set; } = 0x1F80;
    public uint MxcsrOut => BitConverter.ToUInt32(FxResult, 24);
    /// <summary>When set, FXRSTOR this 512-byte image before the instruction (x87 tests); FXSAVE goes to <see cref="FxResult"/>.</summary>
    public byte[]? FxImage { get; set; }
    public readonly byte[] FxResult = new byte[512];

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);
    [LibraryImport("libc")]
    private static partial int munmap(nint addr, nuint length);

    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    public NativeRunner()
    {
        const int ReadWriteExec = 7, PrivateAnonymous = 0x22;
        nint p = mmap(0, CodeSize, ReadWriteExec, PrivateAnonymous, -1, 0);
        if (p == -1) throw new InvalidOperationException($"mmap RWX failed: errno {Marshal.GetLastPInvokeError()}");
        _code = (byte*)p;
        Data = (byte*)NativeMemory.AlignedAlloc(DataSize, 64);
        _block = (ulong*)NativeMemory.AlignedAlloc(2048, 64);
    }

    /// <summary>Executes <paramref name="instruction"/> with the given inputs; returns registers and RFLAGS after it.</summary>
    public (ulong[] regs, ulong flags) Run(ReadOnlySpan<byte> instruction, ulong[] regs, ulong flags, ReadOnlySpan<byte> data)
        => Run(instruction, regs, flags, data, new UInt128[8], new UInt128[8]);

    /// <summary>As above, also loading XMM0-7 from <paramref name="xmmIn"/> and storing them to <paramref name="xmmOut"/>.</summary>
    public (ulong[] regs, ulong flags) Run(ReadOnlySpan<byte> instruction, ulong[] regs, ulong flags, ReadOnlySpan<byte> data,
        UInt128[] xmmIn, UInt128[] xmmOut)
    {
        for (int i = 0; i < 8; i++) ((UInt128*)(_block + XmmIn))[i] = xmmIn[i];
        var fx = new Span<byte>((byte*)_block + FxIn, 512);
        if (FxImage != null) FxImage.CopyTo(fx);
        if ((Mxcsr & 0x1F80) != 0x1F80) throw new ArgumentException($"MXCSR {Mxcsr:X}: the in-process oracle needs every exception masked");
        *(uint*)((byte*)_block + MxcsrIn) = Mxcsr;
        data.CopyTo(new Span<byte>(Data, DataSize));
        for (int i = 0; i < 16; i++) _block[i] = regs[i];
        _block[4] = 0; _block[5] = (ulong)Data; _block[7] = 0;
        _block[16] = flags;
        var code = BuildHarness(instruction);
        code.CopyTo(new Span<byte>(_code, CodeSize));
        // Safe: _code holds the harness just written, which preserves the callee-saved registers and
        // RSP, touches only _block and Data, and runs one unprivileged, non-faulting instruction.
        ((delegate* unmanaged<ulong*, void>)_code)(_block);
        for (int i = 0; i < 8; i++) xmmOut[i] = ((UInt128*)(_block + XmmOut))[i];
        new Span<byte>((byte*)_block + FxOut, 512).CopyTo(FxResult);
        var outRegs = new ulong[16];
        for (int i = 0; i < 16; i++) outRegs[i] = _block[17 + i];
        return (outRegs, _block[33]);
    }

    private byte[] BuildHarness(ReadOnlySpan<byte> instruction)
    {
        var a = new Assembler(64);
        AssemblerRegister64[] gpr = { rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15 };
        a.push(rbx); a.push(rbp); a.push(r12); a.push(r13); a.push(r14); a.push(r15);
        a.push(rdi);
        AssemblerRegisterXMM[] x = { xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7 };
        a.stmxcsr(__dword_ptr[rdi + MxcsrSaved]); // the runtime's own MXCSR, put back before returning to it
        if (FxImage != null) a.fxrstor64(__[rdi + FxIn]);
        else a.ldmxcsr(__dword_ptr[rdi + MxcsrIn]);
        for (int i = 0; i < 8; i++) a.movdqu(x[i], __xmmword_ptr[rdi + (XmmIn * 8 + i * 16)]);
        a.push(__qword_ptr[rdi + 16 * 8]); a.popfq();
        for (int i = 0; i < 16; i++) if (i is not (4 or 7)) a.mov(gpr[i], __qword_ptr[rdi + i * 8]);
        foreach (byte b in instruction) a.db(b);
        a.pushfq();
        a.push(rax);
        a.mov(rax, __qword_ptr[rsp + 16]);
        for (int i = 1; i < 16; i++) if (i is not (4 or 7)) a.mov(__qword_ptr[rax + (17 + i) * 8], gpr[i]);
        a.pop(rcx); a.mov(__qword_ptr[rax + 17 * 8], rcx);
        a.pop(rcx); a.mov(__qword_ptr[rax + 33 * 8], rcx);
        for (int i = 0; i < 8; i++) a.movdqu(__xmmword_ptr[rax + (XmmOut * 8 + i * 16)], x[i]);
        a.fxsave64(__[rax + FxOut]);
        a.ldmxcsr(__dword_ptr[rax + MxcsrSaved]);
        a.pop(rdi);
        a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(rbp); a.pop(rbx);
        a.ret();
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), (ulong)_code);
        return ms.ToArray();
    }

    public void Dispose()
    {
        munmap((nint)_code, CodeSize);
        NativeMemory.AlignedFree(Data);
        NativeMemory.AlignedFree(_block);
    }
}
