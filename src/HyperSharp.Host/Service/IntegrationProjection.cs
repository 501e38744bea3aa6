using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>Integration services as the API shows them: Get-VMIntegrationService's objects, Get-VM's Heartbeat and versions, the guest's addresses.</summary>
public static class IntegrationProjection
{
    /// <summary>Get-VM's Heartbeat: empty while the VM is off, Disabled when the service is, else the agent's heartbeat in Hyper-V's words.</summary>
    public static string Heartbeat(ManagedVm vm)
    {
        if (!Live(vm)) return "";
        if (!vm.Config.IntegrationServices.Heartbeat) return "Disabled";
        return vm.Guest?.Heartbeat switch
        {
            GuestIntegrationStatus.Ok => "OkApplicationsUnknown",
            GuestIntegrationStatus.LostCommunication => "LostCommunication",
            _ => "NoContact",
        };
    }

    /// <summary>Fills Get-VM's Heartbeat, IntegrationServicesVersion and IntegrationServicesState, and the guest's host name and OS.</summary>
    public static void Fill(Vm result, ManagedVm vm)
    {
        result.Heartbeat = Heartbeat(vm);
        if (vm.Guest is not { ProtocolVersion: > 0 } guest) return;
        if (Live(vm) && vm.Config.IntegrationServices.KeyValuePairExchange)
            (result.GuestHostName, result.GuestOsName, result.GuestOsVersion, result.GuestActivation) = (guest.HostName, guest.OsName, guest.OsVersion, guest.Activation);
        result.IntegrationServicesVersion = $"protocol {guest.ProtocolVersion} ({guest.AgentSoftware})";
        result.IntegrationServicesState = guest.AgentUpToDate ? "Up to date" : "Update required";
    }

    /// <summary>Get-VMIntegrationService: the VM's services whose names match <paramref name="nameFilter"/> (all when empty).</summary>
    public static IEnumerable<IntegrationService> Services(ManagedVm vm, string? nameFilter)
    {
        var settings = vm.Config.IntegrationServices;
        foreach (var name in IntegrationServiceSettings.Names)
        {
            if (!string.IsNullOrEmpty(nameFilter) && !Wildcard.Matches(nameFilter, name)) continue;
            bool enabled = settings.IsEnabled(name);
            var (primary, secondary) = !Live(vm) || !enabled ? ("", "")
                : vm.Guest?.Heartbeat switch
                {
                    GuestIntegrationStatus.Ok => ("OK", ""),
                    GuestIntegrationStatus.LostCommunication => ("Lost Communication", "the guest agent stopped answering"),
                    _ => ("No Contact", "no guest agent has connected (hs-agent is not running in the guest)"),
                };
            yield return new IntegrationService
            {
                VmId = vm.Id.ToString("D"), VmName = vm.Name, Name = name, Enabled = enabled,
                PrimaryStatusDescription = primary, SecondaryStatusDescription = secondary,
            };
        }
    }

    /// <summary>The guest's addresses on the adapter with <paramref name="macAddress"/>, as its agent last reported them (Key-Value Pair Exchange on).</summary>
    public static IEnumerable<string> Addresses(ManagedVm vm, string macAddress)
    {
        if (!Live(vm) || !vm.Config.IntegrationServices.KeyValuePairExchange || vm.Guest is not { } guest) return [];
        return guest.Adapters.Where(a => string.Equals(a.MacAddress, macAddress, StringComparison.OrdinalIgnoreCase)).SelectMany(a => a.Addresses);
    }

    private static bool Live(ManagedVm vm) => vm.WorkerPid > 0 && vm.State is not (PowerState.Off or PowerState.Saved or PowerState.Starting);
}
