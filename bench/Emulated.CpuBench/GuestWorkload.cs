using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulated.CpuBench;

/// <summary>
/// A freestanding CPU-bound guest program: per round, fill an array with xorshift64 values (hashing),
/// insertion-sort a part of it (branchy, memory-heavy), then fold it with FNV-1a over bytes. No I/O;
/// ends with HLT after <c>rounds</c> rounds, leaving the final hash in RAX.
/// </summary>
internal static class GuestWorkload
{
    public const int Elements = 64;

    /// <summary>Assembles the program at <paramref name="at"/>; with <paramref name="native"/> it ends with RET
    /// (callable from the host, hash in RAX, callee-saved registers kept) instead of HLT.</summary>
    public static byte[] Assemble(ulong at, ulong data, int rounds, bool native = false)
    {
        var a = new Assembler(64);
        var outer = a.CreateLabel(); var fill = a.CreateLabel(); var sortI = a.CreateLabel(); var sortJ = a.CreateLabel();
        var place = a.CreateLabel(); var hashLoop = a.CreateLabel();
        if (native) { a.push(rbx); a.push(r12); a.push(r13); a.push(r14); a.push(r15); }
        a.mov(r15, (ulong)rounds);
        a.mov(r13, data);
        a.mov(rax, 0x9E3779B97F4A7C15UL);
        a.mov(r14, 0xCBF29CE484222325UL);                 // FNV offset basis
        a.Label(ref outer);
        // xorshift64 fill
        a.mov(rsi, data); a.mov(edx, Elements);
        a.Label(ref fill);
        a.mov(rbx, rax); a.shl(rbx, 13); a.xor(rax, rbx);
        a.mov(rbx, rax); a.shr(rbx, 7); a.xor(rax, rbx);
        a.mov(rbx, rax); a.shl(rbx, 17); a.xor(rax, rbx);
        a.mov(__qword_ptr[rsi], rax); a.add(rsi, 8); a.dec(edx); a.jnz(fill);
        // insertion sort (unsigned) of the array
        a.mov(ecx, 1);
        a.Label(ref sortI);
        a.mov(r8, __qword_ptr[r13 + rcx * 8]); a.mov(edx, ecx);
        a.Label(ref sortJ);
        a.test(edx, edx); a.jz(place);
        a.mov(r9, __qword_ptr[r13 + rdx * 8 - 8]);
        a.cmp(r9, r8); a.jbe(place);
        a.mov(__qword_ptr[r13 + rdx * 8], r9); a.dec(edx); a.jmp(sortJ);
        a.Label(ref place);
        a.mov(__qword_ptr[r13 + rdx * 8], r8);
        a.inc(ecx); a.cmp(ecx, Elements); a.jb(sortI);
        // FNV-1a over the bytes
        a.mov(rsi, data); a.mov(ecx, Elements * 8);
        a.mov(r10, 0x100000001B3UL);
        a.Label(ref hashLoop);
        a.movzx(ebx, __byte_ptr[rsi]); a.xor(r14, rbx); a.imul(r14, r10); a.inc(rsi); a.dec(ecx); a.jnz(hashLoop);
        a.dec(r15); a.jnz(outer);
        a.mov(rax, r14);
        if (native) { a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(rbx); a.ret(); }
        else a.hlt();
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), at);
        return ms.ToArray();
    }
}
