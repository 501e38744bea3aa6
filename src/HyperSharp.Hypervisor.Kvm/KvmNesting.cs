namespace HyperSharp.Hypervisor.Kvm;

/// <summary>
/// Whether this host's KVM lets guests run their own hypervisor: the kvm_intel or kvm_amd module's "nested" parameter
/// (Y or 1). Other KVM modules (this project's machines run a paravirtual one, kvm_pvm) offer no nesting.
/// </summary>
public static class KvmNesting
{
    private static readonly string[] Modules = ["kvm_intel", "kvm_amd"];

    /// <param name="sysModule">where the kernel lists its modules (a test gives a folder of its own)</param>
    public static HypervisorAvailability Check(string sysModule = "/sys/module")
    {
        foreach (var module in Modules)
        {
            string parameter = Path.Combine(sysModule, module, "parameters", "nested");
            if (!File.Exists(parameter)) continue;
            string value = File.ReadAllText(parameter).Trim();
            return value is "Y" or "y" or "1"
                ? HypervisorAvailability.Available($"{module} allows nesting (nested={value})")
                : HypervisorAvailability.Unavailable($"{module} is loaded with nested={value}; reload it with nested=1 to expose virtualization extensions to guests");
        }
        string loaded = Directory.Exists(sysModule)
            ? string.Join(", ", Directory.EnumerateDirectories(sysModule, "kvm*").Select(Path.GetFileName).Order())
            : "";
        return HypervisorAvailability.Unavailable($"no kvm_intel or kvm_amd module (loaded: {(loaded.Length > 0 ? loaded : "no kvm module")}): this host's KVM offers no nested virtualization");
    }
}
