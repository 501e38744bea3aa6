namespace HyperSharp.Hypervisor;

/// <summary>An interrupt a device thread can fire directly into the partition (irqfd semantics); dispose to detach it.</summary>
public interface IInterruptTrigger : IDisposable
{
    /// <summary>The platform interrupt line this trigger pulses.</summary>
    uint Gsi { get; }

    /// <summary>Injects one edge (assert then deassert) on <see cref="Gsi"/>; safe from any thread.</summary>
    void Trigger();
}
