using HyperSharp.Machine.Tests;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Host.Tests;

/// <summary>Small guest programs (ELF "vmlinux" images) for VMs that need no Linux.</summary>
public static class TestGuests
{
    /// <summary>
    /// Counts forever: prints 1, 2, 3... as eight hex digits a line on COM1, a busy wait between lines.
    /// A saved and restored VM goes on from where it was, so the console shows no gap and no repeat. With
    /// <paramref name="readPortInDelay"/> each wait iteration reads COM1's line status register: the lines then come at the
    /// rate of the guest's device round trips (its I/O latency), not of its arithmetic.
    /// </summary>
    public static byte[] Counter(int delayIterations = 400_000, bool readPortInDelay = false) => TinyElf.Assemble(a =>
    {
        var next = a.CreateLabel();
        var digit = a.CreateLabel();
        var isDigit = a.CreateLabel();
        var wait = a.CreateLabel();
        a.mov(ebx, 0);
        a.mov(dx, 0x3F8);
        a.Label(ref next);
        a.inc(ebx);
        a.mov(ecx, 8);
        a.mov(esi, ebx);
        a.Label(ref digit);
        a.rol(esi, 4);
        a.mov(eax, esi);
        a.and(eax, 0xF);
        a.add(eax, '0');
        a.cmp(eax, '9');
        a.jbe(isDigit);
        a.add(eax, 7);
        a.Label(ref isDigit);
        a.@out(dx, al);
        a.dec(ecx);
        a.jnz(digit);
        a.mov(al, (byte)'\n');
        a.@out(dx, al);
        a.mov(ecx, delayIterations);
        if (readPortInDelay) a.mov(dx, 0x3FD);
        a.Label(ref wait);
        if (readPortInDelay) a.@in(al, dx);
        a.dec(ecx);
        a.jnz(wait);
        if (readPortInDelay) a.mov(dx, 0x3F8);
        a.jmp(next);
    });

    /// <summary>Prints "up" and halts with interrupts off: a running VM that costs the host no processor time.</summary>
    public static byte[] Idle() => TinyElf.Assemble(a =>
    {
        var halt = a.CreateLabel();
        a.mov(dx, 0x3F8);
        foreach (char c in "up\n") { a.mov(al, (byte)c); a.@out(dx, al); }
        a.cli();
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
    });

    /// <summary>Prints "up" and spins forever: a VM that keeps one host processor busy (what processor limits act on).</summary>
    public static byte[] Spin() => TinyElf.Assemble(a =>
    {
        var spin = a.CreateLabel();
        a.mov(dx, 0x3F8);
        foreach (char c in "up\n") { a.mov(al, (byte)c); a.@out(dx, al); }
        a.Label(ref spin);
        a.jmp(spin);
    });

    /// <summary>Prints "bye" and powers off through ACPI (PM1a_CNT: SLP_TYP 5 | SLP_EN).</summary>
    public static byte[] PowerOff() => TinyElf.Assemble(a =>
    {
        a.mov(dx, 0x3F8);
        foreach (char c in "bye\n") { a.mov(al, (byte)c); a.@out(dx, al); }
        a.mov(dx, 0x604);
        a.mov(ax, (5 << 10) | (1 << 13));
        a.@out(dx, ax);
        a.hlt();
    });
}
