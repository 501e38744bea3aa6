using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// Settings this release stores but does not act on yet, named in the answer to the change that sets them (the API's
/// warnings; the cmdlets and the CLI print them) so a script never believes they hold. Each goes when its feature
/// arrives: nested virtualization with the firmware work (issue 18).
/// </summary>
public static class UnappliedSettings
{
    public static IEnumerable<string> Of(ProcessorChange change)
    {
        if (change.ExposeVirtualizationExtensions == true)
            yield return "ExposeVirtualizationExtensions is recorded but not acted on in this release: the guest sees no virtualization extensions (no nested virtualization).";
    }
}
