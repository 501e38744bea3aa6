namespace HyperSharp.Hypervisor;

/// <summary>A way to run guest processors (Kvm, Emulated): tells whether it works on this host and creates partitions.</summary>
public interface IHypervisor
{
    /// <summary>Short backend name used on command lines and in logs, e.g. "kvm" or "emulated".</summary>
    string Name { get; }

    /// <summary>Whether this backend can run guests on this host and, when it cannot, why and what to do.</summary>
    HypervisorAvailability Availability { get; }

    /// <summary>Creates an empty partition (one VM: memory map, interrupt controllers, processors).</summary>
    /// <exception cref="HypervisorException">The backend is unavailable or refuses the options; the message says why.</exception>
    IPartition CreatePartition(PartitionOptions options);
}
