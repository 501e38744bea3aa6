using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Tests.Lifecycle;

/// <summary>The lifecycle's states and event kinds map to the API's by number: every member has its namesake there, and back.</summary>
public sealed class ApiMappingTests
{
    [Fact]
    public void Each_power_state_is_the_API_state_of_the_same_name()
    {
        Assert.Equal(Enum.GetValues<VmState>().Length, Enum.GetValues<PowerState>().Length);
        foreach (var state in Enum.GetValues<PowerState>())
            Assert.Equal(state.ToString(), VmProjection.State(state).ToString());
    }

    [Fact]
    public void Each_change_kind_is_the_API_event_kind_of_the_same_name()
    {
        Assert.Equal(Enum.GetValues<VmEventKind>().Length, Enum.GetValues<VmChangeKind>().Length);
        var change = new VmChange(Guid.NewGuid(), "vm", VmChangeKind.Unspecified, PowerState.Off, PowerState.Running, "why");
        foreach (var kind in Enum.GetValues<VmChangeKind>())
        {
            var e = VmProjection.Event(change with { Kind = kind });
            Assert.Equal(kind.ToString(), e.Kind.ToString());
            Assert.Equal((VmState.Off, VmState.Running, "why", change.VmId.ToString("D")), (e.OldState, e.NewState, e.Message, e.VmId));
        }
    }
}
