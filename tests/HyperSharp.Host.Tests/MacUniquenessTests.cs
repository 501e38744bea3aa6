using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>MAC addresses are unique on the host under any concurrency, static and dynamic alike, and stay so across a restart.</summary>
public class MacUniquenessTests(ITestOutputHelper output)
{
    private const int Vms = 20;

    [Fact]
    public async Task ConcurrentAddsOfOneStaticMacLetExactlyOneThroughAndDynamicMacsNeverRepeat()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        for (int i = 0; i < Vms; i++) await host.CreateAsync($"vm{i}", kernel, 32L << 20);

        for (int round = 1; round <= 3; round++)
        {
            string mac = $"00-15-5D-CC-00-0{round}";
            var results = await Task.WhenAll(Enumerable.Range(0, Vms).Select(i => Attempt(host, $"vm{i}", mac)));
            output.WriteLine($"round {round}: {results.Count(r => r is null)} succeeded; {results.FirstOrDefault(r => r is not null)?.Status}");
            Assert.Single(results, r => r is null);
            Assert.All(results.Where(r => r is not null), e => Assert.Equal(StatusCode.InvalidArgument, e!.StatusCode));
        }
        var dynamic = await Task.WhenAll(Enumerable.Range(0, Vms).Select(i => host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = new VmRef { Name = $"vm{i}" }, Name = "dyn" }).ResponseAsync));
        Assert.Equal(Vms, dynamic.Select(a => a.MacAddress).Distinct().Count());
        await AssertUniqueAsync(host, 3 + Vms);

        // After a restart the host knows every address again.
        await host.StopHostAsync();
        await host.StartHostAsync();
        Assert.NotNull(await Attempt(host, "vm0", "00-15-5D-CC-00-01"));
        Assert.NotNull(await Attempt(host, "vm1", dynamic[5].MacAddress));
        await AssertUniqueAsync(host, 3 + Vms);
    }

    private static async Task<RpcException?> Attempt(HostFixture host, string vm, string mac)
    {
        try
        {
            await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = new VmRef { Name = vm }, Name = "static-" + mac, StaticMacAddress = mac });
            return null;
        }
        catch (RpcException e) { return e; }
    }

    private static async Task AssertUniqueAsync(HostFixture host, int expected)
    {
        var all = (await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest())).Adapters;
        Assert.Equal(expected, all.Count);
        Assert.Equal(expected, all.Select(a => a.MacAddress).Distinct().Count());
    }
}
