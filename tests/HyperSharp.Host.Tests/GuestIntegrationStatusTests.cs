using HyperSharp.Integration.Protocol;
using HyperSharp.Inventory.Workers;
using HyperSharp.Worker;

namespace HyperSharp.Host.Tests;

/// <summary>What a worker reports of the guest's facts stays within the host's line limit, whatever the guest claims.</summary>
public class GuestIntegrationStatusTests
{
    [Fact]
    public void A_guest_claiming_tens_of_thousands_of_long_addresses_is_reported_bounded_under_the_64_KiB_line_limit()
    {
        string Long(string s) => s + new string('x', 200);
        var adapters = Enumerable.Range(0, 200).Select(i => new NetworkAdapterInfo(Long($"eth{i}"), Long("0A-48-53-00-00-01"),
            [.. Enumerable.Range(0, 200).Select(j => Long($"10.{i}.{j}.1"))], [Long("fe80::1")])).ToArray();
        var status = WorkerIntegration.With(new GuestIntegrationStatus(), new GuestInfoMessage(Long("host"), Long("Linux"), Long("6.1"), "6.1", adapters));
        int bytes = System.Text.Encoding.UTF8.GetByteCount(WorkerJson.Line(new WorkerReport { Kind = WorkerReportKinds.Integration, Integration = status }));
        Assert.True(bytes < 64 * 1024, $"the report line takes {bytes} bytes");
        Assert.Equal(WorkerIntegration.MaxAdapters, status.Adapters.Count);
        Assert.All(status.Adapters, a => Assert.Equal(WorkerIntegration.MaxAddresses, a.Addresses.Count));
        Assert.Equal("0A4853000001", status.Adapters[0].MacAddress[..12]);
        Assert.Equal(WorkerIntegration.MaxText, status.HostName.Length);
    }

    [Fact]
    public void An_ordinary_guest_s_facts_pass_whole_with_the_MAC_in_the_host_s_form()
    {
        var info = new GuestInfoMessage("web01", "Debian GNU/Linux", "12", "6.1.0", [new NetworkAdapterInfo("eth0", "0a-48-53-13-00-05", ["10.0.0.5"], ["fe80::848:53ff:fe13:5"])]);
        var status = WorkerIntegration.With(new GuestIntegrationStatus(), info);
        Assert.Equal(("web01", "Debian GNU/Linux", "12"), (status.HostName, status.OsName, status.OsVersion));
        var eth0 = Assert.Single(status.Adapters);
        Assert.Equal(("0A4853130005", "eth0"), (eth0.MacAddress, eth0.Name));
        Assert.Equal(["10.0.0.5", "fe80::848:53ff:fe13:5"], eth0.Addresses);
    }
}
