using HyperSharp.Inventory;

namespace HyperSharp.Host.Tests;

/// <summary>The integration services' settings in vm.json: Hyper-V's defaults, older files, and names refused.</summary>
public class IntegrationServiceSettingsTests
{
    [Fact]
    public void A_version_3_vm_json_loads_with_Hyper_V_s_defaults_and_a_saved_change_reads_back()
    {
        string dir = Directory.CreateTempSubdirectory("hs-vmjson").FullName;
        try
        {
            string file = Path.Combine(dir, "vm.json");
            File.WriteAllText(file, $$$"""
                {"version":3,"id":"{{{Guid.NewGuid()}}}","name":"old","boot":{"kernelPath":"/k"}}
                """);
            var config = VmInventory.ReadConfiguration(file)!;
            Assert.Equal(VmConfiguration.CurrentVersion, config.Version);
            var s = config.IntegrationServices;
            Assert.Equal((true, true, true, true, true, false), (s.Heartbeat, s.Shutdown, s.TimeSynchronization, s.KeyValuePairExchange, s.Vss, s.GuestServiceInterface));

            VmInventory.Save(new VmFolder(dir), config with { IntegrationServices = s.With("Guest Service Interface", true).With("VSS", false) });
            var again = VmInventory.ReadConfiguration(file)!.IntegrationServices;
            Assert.Equal([true, true, true, true, true, false], IntegrationServiceSettings.Names.Select(again.IsEnabled)); // GSI on, VSS off
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_name_no_service_has_is_refused_naming_the_services()
    {
        var e = Assert.Throws<ArgumentException>(() => new IntegrationServiceSettings().With("Data Exchange", true));
        Assert.Equal("'Data Exchange' is not an integration service; the services are: Guest Service Interface, Heartbeat, Key-Value Pair Exchange, "
            + "Shutdown, Time Synchronization, VSS", e.Message);
    }
}
