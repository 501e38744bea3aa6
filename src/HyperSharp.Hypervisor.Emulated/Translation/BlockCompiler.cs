using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Execution;

namespace HyperSharp.Hypervisor.Emulated.Translation;

/// <summary>
/// Compiles a decoded block into one DynamicMethod that does what the interpreter's loop does for it, minus
/// the loop. Two tiers (see CPU.md, "Speed"):
/// <list type="bullet">
/// <item><b>quick</b>: each instruction is a <c>calli</c> of its handler with the record's address as a constant
/// (one call site per instruction, so each branch predicts; no loop, no per-instruction RIP load). Cheap to
/// JIT (~15 µs per guest instruction), so most code that runs a few dozen times gets it.</item>
/// <item><b>optimized</b>: each handler is called directly, so the JIT inlines the hot ones (those marked
/// AggressiveInlining), and gets a fresh local copy of its record, so the JIT folds the record's fields into
/// constants: register numbers become fixed offsets, sizes, conditions and immediates constants, dead
/// branches of the handler disappear. Several times faster code, but the JIT takes ~0.5 ms per guest
/// instruction, so only very hot blocks get it, compiled on a background thread.</item>
/// </list>
/// </summary>
/// <remarks>
/// Faults stay precise: RIP is written before every instruction that can fault, read RIP or leave the block,
/// exactly as the interpreter has it, and the handlers are the interpreter's own, so a fault inside compiled
/// code leaves the same state; the caller counts the retired instructions from RIP
/// (<see cref="TranslatedBlock.RetiredBefore"/>). After every instruction that might store, the block's
/// <see cref="CodeBlock.Valid"/> is tested and the code leaves just past that instruction if the store hit the
/// block, as the interpreter's poisoned records do.
/// </remarks>
internal static unsafe class BlockCompiler
{
    private static readonly FieldInfo ArchField = typeof(X86Cpu).GetField(nameof(X86Cpu.Arch), BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly FieldInfo RegsField = typeof(ArchState).GetField(nameof(ArchState.Gpr))!;
    private static readonly FieldInfo ValidField = typeof(CodeBlock).GetField(nameof(CodeBlock.Valid))!;
    private static readonly Type[] HandlerArgs = [typeof(X86Cpu), typeof(DecodedInstruction).MakeByRefType()];
    private static readonly Type[] MethodArgs = [typeof(X86Cpu), typeof(CodeBlock)];
    private static readonly FieldInfo[] RecordFields = typeof(DecodedInstruction).GetFields(BindingFlags.Public | BindingFlags.Instance)
        .Where(f => f.Name != nameof(DecodedInstruction.Exec)).ToArray();

    /// <summary>Blocks compiled in this process, per tier (diagnostics and tests).</summary>
    public static long QuickCompiled, OptimizedCompiled;

    private static int _failureReported;

    /// <summary>
    /// Compiles <paramref name="block"/>, has the JIT compile the result, and publishes it to every vCPU.
    /// A compiler failure is a bug of ours, never the guest's: the block then stays as it is and the failure
    /// is reported once on stderr.
    /// </summary>
    public static TranslatedBlock? CompileInto(CodeBlock block, bool optimized)
    {
        try
        {
            var t = Compile(block, optimized);
            t.Prepare();
            block.Translated = t;
            Interlocked.Increment(ref optimized ? ref OptimizedCompiled : ref QuickCompiled);
            return t;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            block.Heat = int.MinValue; // not queued again
            if (Interlocked.Exchange(ref _failureReported, 1) == 0)
                Console.Error.WriteLine($"HyperSharp: compiling the block at guest-physical 0x{block.PhysicalAddress:X} failed, "
                    + $"it keeps running as it did (reported once): {e}");
            return null;
        }
    }

    /// <summary>Compiles <paramref name="block"/> (its instructions, without the trailing sentinel).</summary>
    public static TranslatedBlock Compile(CodeBlock block, bool optimized)
    {
        var src = block.Instructions;
        int n = src.Length - 1;
        // A pinned copy, so the compiled code can pass each record by a constant address.
        var records = GC.AllocateUninitializedArray<DecodedInstruction>(n, pinned: true);
        Array.Copy(src, records, n);
        var offsets = new uint[n + 1];
        for (int i = 0; i < n; i++) offsets[i + 1] = offsets[i] + records[i].Len;

        var dm = new DynamicMethod($"Block_{block.PhysicalAddress:X}_{block.Bitness}{(optimized ? "_opt" : "")}", typeof(int), MethodArgs,
            typeof(X86Cpu).Module, skipVisibility: true);
        var il = dm.GetILGenerator();
        var ripRef = il.DeclareLocal(typeof(ulong).MakeByRefType());
        var rip0 = il.DeclareLocal(typeof(ulong));
        // Called with a null processor only to have the JIT compile the method (see TranslatedBlock.Prepare).
        var start = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Brtrue, start);
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Ret);
        il.MarkLabel(start);
        // ripRef = ref cpu.Arch.Gpr[RipIndex]; rip0 = ripRef
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldflda, ArchField);
        il.Emit(OpCodes.Ldflda, RegsField);
        il.Emit(OpCodes.Ldc_I4, DecodedInstruction.RipIndex * sizeof(ulong));
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, ripRef);
        il.Emit(OpCodes.Ldloc, ripRef);
        il.Emit(OpCodes.Ldind_I8);
        il.Emit(OpCodes.Stloc, rip0);

        for (int i = 0; i < n; i++)
        {
            var handler = HandlerMethods.Find((nint)records[i].Exec);
            bool registersOnly = handler != null && HandlerTraits.TouchesOnlyRegisters(handler, in records[i]);
            if (i > 0 && !registersOnly) StoreRip(il, ripRef, rip0, offsets[i]);
            EmitCall(il, ref records[i], optimized ? handler : null);
            if (registersOnly) { il.Emit(OpCodes.Pop); continue; } // these always continue
            // if (handler(...) != 0) return i + 1;   (it set RIP itself)
            var next = il.DefineLabel();
            il.Emit(OpCodes.Brfalse, next);
            il.Emit(OpCodes.Ldc_I4, i + 1);
            il.Emit(OpCodes.Ret);
            il.MarkLabel(next);
            if (i + 1 < n)
            {
                // A store of this instruction may have overwritten the block: then leave just past it.
                var valid = il.DefineLabel();
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Volatile);
                il.Emit(OpCodes.Ldfld, ValidField);
                il.Emit(OpCodes.Brtrue, valid);
                StoreRip(il, ripRef, rip0, offsets[i + 1]);
                il.Emit(OpCodes.Ldc_I4, i + 1);
                il.Emit(OpCodes.Ret);
                il.MarkLabel(valid);
            }
        }
        StoreRip(il, ripRef, rip0, offsets[n]);
        il.Emit(OpCodes.Ldc_I4, n);
        il.Emit(OpCodes.Ret);
        return new TranslatedBlock(dm.CreateDelegate<TranslatedCode>(), records, offsets, optimized);
    }

    /// <summary>Emits handler(cpu, ref record): a direct call of <paramref name="direct"/> when given, else a calli
    /// through the record's function pointer.</summary>
    private static void EmitCall(ILGenerator il, ref DecodedInstruction record, MethodInfo? direct)
    {
        il.Emit(OpCodes.Ldarg_0);
        if (direct != null && HandlerTraits.Inlined(direct)) EmitRecordLocal(il, in record);
        else
        {
            il.Emit(OpCodes.Ldc_I8, (long)(nint)Unsafe.AsPointer(ref record));
            il.Emit(OpCodes.Conv_U);
        }
        if (direct != null) il.Emit(OpCodes.Call, direct);
        else
        {
            il.Emit(OpCodes.Ldc_I8, (long)(nint)record.Exec);
            il.Emit(OpCodes.Conv_I);
            il.EmitCalli(OpCodes.Calli, CallingConventions.Standard, typeof(int), HandlerArgs, null);
        }
    }

    /// <summary>Pushes the address of a fresh local holding the record's fields as constants: once the handler is
    /// inlined, the JIT folds them (register numbers become fixed offsets, sizes and immediates constants).</summary>
    private static void EmitRecordLocal(ILGenerator il, in DecodedInstruction d)
    {
        var local = il.DeclareLocal(typeof(DecodedInstruction));
        il.Emit(OpCodes.Ldloca, local);
        il.Emit(OpCodes.Initobj, typeof(DecodedInstruction));
        object boxed = d;
        foreach (var f in RecordFields)
        {
            long x = f.GetValue(boxed) switch
            {
                ulong u => (long)u,
                byte b => b,
                ushort s => s,
                var other => throw new InvalidOperationException($"DecodedInstruction.{f.Name} is a {other?.GetType().Name}: teach EmitRecordLocal to copy it"),
            };
            if (x == 0) continue;
            il.Emit(OpCodes.Ldloca, local);
            if (f.FieldType == typeof(ulong)) il.Emit(OpCodes.Ldc_I8, x); else il.Emit(OpCodes.Ldc_I4, (int)x);
            il.Emit(OpCodes.Stfld, f);
        }
        il.Emit(OpCodes.Ldloca, local);
    }

    private static void StoreRip(ILGenerator il, LocalBuilder ripRef, LocalBuilder rip0, uint offset)
    {
        il.Emit(OpCodes.Ldloc, ripRef);
        il.Emit(OpCodes.Ldloc, rip0);
        il.Emit(OpCodes.Ldc_I8, (long)offset);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stind_I8);
    }
}
