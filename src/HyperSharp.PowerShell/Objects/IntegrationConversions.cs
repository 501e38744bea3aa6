using V1 = HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

/// <summary>The API's integration service messages to the cmdlets' objects.</summary>
internal static class IntegrationConversions
{
    public static VMIntegrationComponent ToObject(this V1.IntegrationService s, string computerName) => new()
    {
        ComputerName = computerName,
        VMName = s.VmName,
        VMId = ApiConversions.ParseId(s.VmId),
        Name = s.Name,
        Enabled = s.Enabled,
        PrimaryStatusDescription = s.PrimaryStatusDescription,
        SecondaryStatusDescription = s.SecondaryStatusDescription,
    };
}
