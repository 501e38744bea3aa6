using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Network;

/// <summary>
/// A network adapter cmdlet that starts from virtual machines: named by -VMName (wildcards, position 0) or passed as
/// VirtualMachine objects through -VM or the pipeline. Adapters are listed fresh from the host, so a VM object taken
/// before adapters were added still finds them.
/// </summary>
public abstract class VmAdapterCmdlet : VmNameCmdlet
{
    /// <summary>
    /// The adapters of <paramref name="vm"/> (every VM's when null) whose names match one of <paramref name="names"/>
    /// (all when null). Matching is PowerShell's own wildcard matching, case-insensitive as Hyper-V's; a name without
    /// wildcards that matches no adapter of a VM is a non-terminating ObjectNotFound error.
    /// </summary>
    protected IReadOnlyList<VMNetworkAdapter> Adapters(VirtualMachine? vm, string[]? names)
    {
        var request = new ListNetworkAdaptersRequest { Vm = vm is null ? new VmRef() : new VmRef { Id = vm.Id.ToString("D") } };
        if (!TryCall(c => VmHostClient.Networking.ListNetworkAdapters(request, cancellationToken: c), (object?)vm ?? HostName, out var list)) return [];
        var adapters = list.Adapters.Select(a => a.ToObject(HostName)).ToList();
        if (names is null) return adapters;
        var patterns = names.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        var matched = adapters.Where(a => patterns.Any(p => p.IsMatch(a.Name))).ToList();
        foreach (var name in names)
        {
            if (WildcardPattern.ContainsWildcardCharacters(name) || matched.Any(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))) continue;
            WriteNotFound(vm is null ? $"no virtual machine has a network adapter named '{name}'" : $"the virtual machine '{vm.Name}' has no network adapter named '{name}'", name);
        }
        return matched;
    }

    /// <summary>A MAC address as the API takes it: 12 hex digits; the separators people type (00-15-5D-.., 00:15:5d:..) are dropped.</summary>
    protected static string ApiMacAddress(string text) =>
        new string(text.Where(c => c is not ('-' or ':' or '.' or ' ')).ToArray()).ToUpperInvariant();
}
