using System.Text.Json;

namespace HyperSharp.Machine.State;

/// <summary>The configuration a saved VM is rebuilt from (what VmConfig holds, minus the host callbacks).</summary>
public sealed record SavedVmConfig(int Processors, ulong MemorySize, string KernelPath, string? InitrdPath, string CommandLine, DiskAttachment[] Disks, int? EntropySlot = null)
{
    public static SavedVmConfig From(VmConfig c) => new(c.Processors, c.MemorySize, c.KernelPath, c.InitrdPath, c.CommandLine, [.. c.Disks], c.EntropySlot);

    /// <summary>The configuration to rebuild the VM from; console and log are the caller's.</summary>
    public VmConfig ToConfig(Action<byte>? console = null, Action<string>? log = null) => new()
    {
        Processors = Processors, MemorySize = MemorySize, KernelPath = KernelPath, InitrdPath = InitrdPath,
        CommandLine = CommandLine, Disks = Disks, EntropySlot = EntropySlot, ConsoleOutput = console ?? (_ => { }), Log = log ?? (_ => { }),
    };
}

/// <summary>
/// Everything a saved VM is: configuration, backend platform state, one processor record per vCPU
/// (VirtualProcessorStateSerializer bytes), device records keyed by device id, and guest memory as
/// runs of touched pages. Versioned: version 1 files stay readable by later versions.
/// </summary>
public sealed record VmSavedState(int Version, string Backend, SavedVmConfig Config, byte[] Platform, byte[][] Processors, Dictionary<string, JsonElement> Devices)
{
    public const int CurrentVersion = 1;
    public static readonly byte[] Magic = "HSVMSAVE"u8.ToArray();
}
