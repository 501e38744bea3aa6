using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// What the host keeps is private: the inventory root, vms/ and every VM folder 0700 (0750 with the hypersharp group),
/// configuration, runtime record, saved state and worker log 0600 (0640 with the group); an older installation's
/// looser modes are tightened when the host starts.
/// </summary>
public class InventoryPermissionTests(ITestOutputHelper output)
{
    private static readonly bool HasGroup = File.ReadLines("/etc/group").Any(l => l.StartsWith("hypersharp:", StringComparison.Ordinal));
    private static readonly UnixFileMode Folder = HasGroup ? (UnixFileMode)0b111_101_000 : (UnixFileMode)0b111_000_000;
    private static readonly UnixFileMode Private = HasGroup ? (UnixFileMode)0b110_100_000 : (UnixFileMode)0b110_000_000;

    [Fact]
    public async Task FoldersAndFilesArePrivateAndLooseModesAreTightenedAtStart()
    {
        await using var host = await HostFixture.StartAsync(output);
        var vm = await host.CreateAsync("secret", host.Guest("counter.elf", TestGuests.Counter()), 32L << 20);
        await host.Client.StartVmAsync(new VmRef { Name = "secret" });
        await host.Client.SaveVmAsync(new VmRef { Name = "secret" });
        string vms = Path.Combine(host.Root, "vms");
        string[] folders = [host.Root, vms, vm.Path];
        string[] files = [.. new[] { "vm.json", "runtime.json", "saved.state", "worker.log" }.Select(f => Path.Combine(vm.Path, f))];
        AssertModes(folders, files);

        // An installation made by an older build: everything readable by everyone.
        await host.StopHostAsync();
        foreach (var f in folders) File.SetUnixFileMode(f, (UnixFileMode)0b111_101_101);
        foreach (var f in files) File.SetUnixFileMode(f, (UnixFileMode)0b110_100_100);
        await host.StartHostAsync();
        AssertModes(folders, files);
    }

    private void AssertModes(string[] folders, string[] files)
    {
        foreach (var f in folders) Assert.True(Folder == (File.GetUnixFileMode(f) & (UnixFileMode)0b111_111_111), $"{f}: {File.GetUnixFileMode(f)}");
        foreach (var f in files) Assert.True(Private == File.GetUnixFileMode(f), $"{f}: {File.GetUnixFileMode(f)}");
        output.WriteLine($"folders {Folder}, files {Private}");
    }
}
