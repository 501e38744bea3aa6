using HyperSharp.Machine;
using HyperSharp.Machine.State;

namespace HyperSharp.Cli.Vm;

/// <summary>Reads the VM configuration recorded in a saved-state file.</summary>
internal static class SavedVmConfigReader
{
    /// <summary>The configuration, its network adapters reconnected to the embedded switches they were saved on.</summary>
    public static void Read(string path, EmbeddedNetwork network, out VmConfig config)
    {
        config = VmStateFile.ReadConfig(path).Config.ToConfig(connect: network.Reconnect);
    }
}
