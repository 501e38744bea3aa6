using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Memory;

/// <summary>
/// Guest RAM as the emulated CPUs of one partition see it: guest-physical [0, Length) maps to
/// host memory at <see cref="Ram"/>; everything else is MMIO and goes to the I/O handler.
/// Also owns the "this page holds cached code" bitmap and the decoded-code cache that all vCPUs
/// of the partition share, so a write by any vCPU drops stale code for every vCPU.
/// </summary>
public sealed unsafe class PhysicalMemory : IDisposable
{
    /// <summary>Host address of guest-physical address 0. The caller keeps it valid for our lifetime.</summary>
    public byte* Ram { get; }
    public ulong Length { get; }
    internal ulong PageCount => Length >> 12;
    /// <summary>One bit per 4 KiB RAM page: set while decoded code from that page is cached.
    /// Native memory so TLB entries can point at their word (a store pays one load and one test).</summary>
    internal ulong* CodeBits { get; }
    internal CodeCache Code { get; }
    private readonly bool _ownsRam;

    /// <summary>Wraps caller-owned RAM (e.g. the partition's mmap'ed guest memory).</summary>
    public PhysicalMemory(byte* ram, ulong length) : this(ram, length, false) { }

    private PhysicalMemory(byte* ram, ulong length, bool owns)
    {
        if ((length & 0xFFF) != 0) throw new ArgumentException("Guest RAM length must be a multiple of 4 KiB.", nameof(length));
        Ram = ram;
        Length = length;
        _ownsRam = owns;
        nuint words = (nuint)((PageCount + 63) / 64 + 1);
        CodeBits = (ulong*)NativeMemory.AllocZeroed(words, sizeof(ulong));
        Code = new CodeCache(this);
    }

    /// <summary>Allocates zeroed RAM owned by this object (tests, benchmarks, small machines).</summary>
    public static PhysicalMemory Allocate(ulong length)
        => new PhysicalMemory((byte*)NativeMemory.AlignedAlloc((nuint)length, 4096), length, true).ZeroAll();

    private PhysicalMemory ZeroAll() { NativeMemory.Clear(Ram, (nuint)Length); return this; }

    public Span<byte> Span(ulong physicalAddress, int length)
    {
        if (physicalAddress > Length || (ulong)length > Length - physicalAddress)
            throw new ArgumentOutOfRangeException(nameof(physicalAddress), "Range is outside guest RAM.");
        // Safe: the range was checked against the RAM size just above.
        return new Span<byte>(Ram + physicalAddress, length);
    }

    /// <summary>Writes from outside the CPU (loader, DMA by devices): drops cached code the bytes overlap.</summary>
    public void Write(ulong physicalAddress, ReadOnlySpan<byte> data)
    {
        data.CopyTo(Span(physicalAddress, data.Length));
        NotifyWritten(physicalAddress, (ulong)data.Length);
    }

    /// <summary>Tells the code cache that [address, address+length) changed behind the CPU's back.</summary>
    public void NotifyWritten(ulong physicalAddress, ulong length)
    {
        if (length == 0) return;
        for (ulong p = physicalAddress >> 12; p <= (physicalAddress + length - 1) >> 12 && p < PageCount; p++)
            if (IsCodePage(p)) Code.InvalidatePage(p);
    }

    internal bool IsCodePage(ulong ppn) => (CodeBits[ppn >> 6] & (1UL << (int)(ppn & 63))) != 0;

    public void Dispose()
    {
        NativeMemory.Free(CodeBits);
        if (_ownsRam) NativeMemory.AlignedFree(Ram);
    }
}
