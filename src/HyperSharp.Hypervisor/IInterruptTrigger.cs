namespace HyperSharp.Hypervisor;

/// <summary>An interrupt a device thread can fire directly into the partition (irqfd semantics); dispose to detach it.</summary>
public interface IInterruptTrigger : IDisposable
{
    /// <summary>Delivers the interrupt once (an edge on the line, or the message); safe from any thread.</summary>
    void Trigger();
}
