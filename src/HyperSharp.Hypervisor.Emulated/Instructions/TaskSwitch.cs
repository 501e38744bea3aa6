namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    /// <summary>JMP/CALL to a TSS descriptor or a task gate: task switches are not implemented yet (#GP(selector)).</summary>
    private void TaskSwitchByJmpOrCall(ushort sel, ulong desc, int type, bool call, ulong returnRip)
        => throw Fault(Vec.GP, sel & 0xFFFCu);
}
