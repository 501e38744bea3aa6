using HyperSharp.Machine;
using HyperSharp.Machine.State;

namespace HyperSharp.Cli.Vm;

/// <summary>Reads the VM configuration recorded in a saved-state file.</summary>
internal static class SavedVmConfigReader
{
    public static void Read(string path, out VmConfig config)
    {
        using var file = File.OpenRead(path);
        config = VmStateFile.ReadHeader(file, path).Config.ToConfig();
    }
}
