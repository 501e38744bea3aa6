using V1 = HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

internal static partial class ApiConversions
{
    public static VMIntegrationComponent ToObject(this V1.IntegrationService s, string computerName) => new()
    {
        ComputerName = computerName,
        VMName = s.VmName,
        VMId = ParseId(s.VmId),
        Name = s.Name,
        Enabled = s.Enabled,
        PrimaryStatusDescription = s.PrimaryStatusDescription,
        SecondaryStatusDescription = s.SecondaryStatusDescription,
    };
}
