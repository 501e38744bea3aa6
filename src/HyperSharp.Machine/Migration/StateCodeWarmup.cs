using System.Reflection;
using System.Runtime.CompilerServices;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// Compiles the code that saves and restores state before a migration needs it. A worker saves its processors and devices
/// for the first time at the handover, with the guest paused: measured on the Emulated backend, the just-in-time
/// compilation of the processor's state serializer alone took 167 ms of a 350 ms downtime, and the destination's restore
/// as much again. Run during the first pre-copy round (seconds long), it costs the guest nothing.
/// </summary>
public static class StateCodeWarmup
{
    // Methods that take part in a save or a restore wherever they live (devices, partitions, processors); everything in a
    // ".State" namespace (records, writers, readers, serializers) is taken whole.
    private static readonly string[] Verbs = ["Save", "Restore", "GetState", "SetState", "Capture", "Apply"];

    /// <summary>Compiles, on a background thread, every save and restore path in the assemblies the VM is made of.</summary>
    public static Task Start(params Type[] anchors) => Task.Factory.StartNew(() =>
    {
        foreach (var assembly in anchors.Append(typeof(VirtualMachine)).Append(typeof(HyperSharp.Hypervisor.IHypervisor)).Select(t => t.Assembly).Distinct())
            foreach (var method in StatePaths(assembly))
            {
                try { RuntimeHelpers.PrepareMethod(method.MethodHandle); }
                catch (Exception) { } // not compilable alone (a shared generic instantiation, say): compiled when called; a warm-up never fails a migration
            }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static IEnumerable<MethodBase> StatePaths(Assembly assembly)
    {
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = [.. e.Types.OfType<Type>()]; }
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in types)
        {
            if (type.ContainsGenericParameters || type.IsInterface) continue;
            bool stateType = type.Namespace?.EndsWith(".State", StringComparison.Ordinal) == true;
            foreach (var method in type.GetMethods(all))
            {
                if (method.IsAbstract || method.ContainsGenericParameters || method.GetMethodBody() is null) continue;
                if (stateType || Verbs.Any(v => method.Name.Contains(v, StringComparison.Ordinal))) yield return method;
            }
            if (!stateType) continue;
            foreach (var constructor in type.GetConstructors(all))
                if (constructor.GetMethodBody() is not null) yield return constructor;
        }
    }
}
