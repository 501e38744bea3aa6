namespace HyperSharp.Host.Service.Domain;

/// <summary>
/// New-VM's settings as the client gave them, not yet checked (<see cref="VmConfigurationStore.Create"/> checks them):
/// null means "not given" and takes the default (generation 2, 512 MiB, one processor, backend auto, console=ttyS0).
/// </summary>
public sealed record NewVm(string Name)
{
    public int? Generation { get; init; }
    public long? MemoryStartupBytes { get; init; }
    public int? ProcessorCount { get; init; }
    public string? Backend { get; init; }
    public string? Notes { get; init; }
    public string? KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    public string? KernelCommandLine { get; init; }

    /// <summary>"bios" or "" (<see cref="HyperSharp.Inventory.BootFirmware"/>); null: "bios" for a Generation 1 VM without a kernel, else "".</summary>
    public string? Firmware { get; init; }

    /// <summary>The folder to create the VM in; null: the host's VM directory.</summary>
    public string? Path { get; init; }

    /// <summary>An existing disk to attach as the first drive.</summary>
    public string? VhdPath { get; init; }

    /// <summary>A new dynamic disk to create (and attach) of <see cref="NewVhdSizeBytes"/>.</summary>
    public string? NewVhdPath { get; init; }

    public long NewVhdSizeBytes { get; init; }
}
