using System.Management.Automation;

namespace HyperSharp.PowerShell.Cmdlets.Network;

/// <summary>
/// Lets a switch parameter take a VMSwitch object where a name is expected, as Hyper-V's
/// `-VMSwitch (Get-VMSwitch lab)` form does: the object becomes its name, anything else binds as given.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class SwitchNameTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData) =>
        (inputData is PSObject wrapped ? wrapped.BaseObject : inputData) switch
        {
            VMSwitch vmSwitch => vmSwitch.Name,
            object[] { Length: 1 } one when (one[0] is PSObject p ? p.BaseObject : one[0]) is VMSwitch s => s.Name,
            _ => inputData,
        };
}
