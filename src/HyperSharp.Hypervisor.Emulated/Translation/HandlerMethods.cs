using System.Reflection;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Execution;

namespace HyperSharp.Hypervisor.Emulated.Translation;

/// <summary>
/// Maps a handler's function pointer (what a <see cref="DecodedInstruction"/> holds) back to its method, so
/// compiled blocks can call handlers directly — a call the JIT may inline, with the record's constant fields
/// folded in — instead of through the pointer. Built once per process from the handler signature: every
/// static method of this assembly's types (X86Cpu and the instruction groups of their own, such as
/// StringInstructions) taking (X86Cpu, ref DecodedInstruction) and returning int, generic
/// ones instantiated over every value type of this assembly that meets their constraints (handlers are
/// generic over marker structs: operand sizes, operations, conditions).
/// </summary>
internal static class HandlerMethods
{
    private static readonly Lazy<Dictionary<nint, MethodInfo>> Map = new(Build);

    /// <summary>The handler method behind <paramref name="pointer"/>, or null when it is not one we know.</summary>
    public static MethodInfo? Find(nint pointer) => Map.Value.TryGetValue(pointer, out var m) ? m : null;

    public static int Count => Map.Value.Count;

    private static Dictionary<nint, MethodInfo> Build()
    {
        var map = new Dictionary<nint, MethodInfo>();
        var structs = typeof(X86Cpu).Assembly.GetTypes().Where(t => t.IsValueType && !t.IsGenericTypeDefinition && !t.IsEnum).ToArray();
        const BindingFlags all = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (var m in typeof(X86Cpu).Assembly.GetTypes().Where(t => !t.IsGenericTypeDefinition).SelectMany(t => t.GetMethods(all)))
        {
            if (m.ReturnType != typeof(int)) continue;
            var ps = m.GetParameters();
            if (ps.Length != 2 || ps[0].ParameterType != typeof(X86Cpu) || ps[1].ParameterType != typeof(DecodedInstruction).MakeByRefType()) continue;
            if (!m.IsGenericMethodDefinition) { Add(map, m); continue; }
            foreach (var args in Instantiations(m.GetGenericArguments(), structs))
            {
                MethodInfo instance;
                try { instance = m.MakeGenericMethod(args); }
                catch (ArgumentException) { continue; } // a constraint between the parameters is not met
                Add(map, instance);
            }
        }
        return map;
    }

    private static void Add(Dictionary<nint, MethodInfo> map, MethodInfo m)
        => map[m.MethodHandle.GetFunctionPointer()] = m;

    /// <summary>Every combination of candidate types that satisfies each parameter's interface constraints.</summary>
    private static IEnumerable<Type[]> Instantiations(Type[] parameters, Type[] structs)
    {
        var choices = parameters.Select(p => structs.Where(s => Satisfies(p, s)).ToArray()).ToArray();
        var current = new Type[parameters.Length];
        return Walk(0);

        IEnumerable<Type[]> Walk(int i)
        {
            if (i == parameters.Length) { yield return (Type[])current.Clone(); yield break; }
            foreach (var t in choices[i])
            {
                current[i] = t;
                foreach (var r in Walk(i + 1)) yield return r;
            }
        }
    }

    private static bool Satisfies(Type parameter, Type candidate)
    {
        var constraints = parameter.GetGenericParameterConstraints();
        if (constraints.Length == 0) return false; // handlers' type parameters are all interface-constrained markers
        foreach (var c in constraints)
            if (c != typeof(ValueType) && !c.IsAssignableFrom(candidate)) return false;
        return true;
    }
}
