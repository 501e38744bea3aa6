using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>Every wrong request value is refused before anything changes, naming the parameter and the allowed range.</summary>
public class ValidationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task WrongValuesNameTheParameterAndTheAllowedRange()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("k.elf", TestGuests.PowerOff());

        await Invalid("processor_count", "1 to 240", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", ProcessorCount = 500 }).ResponseAsync);
        await Invalid("memory_startup_bytes", "32 MiB", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", MemoryStartupBytes = 1000 }).ResponseAsync);
        await Invalid("memory_startup_bytes", "multiple of 2 MiB", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", MemoryStartupBytes = (64L << 20) + 4096 }).ResponseAsync);
        await Invalid("name", "name", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "" }).ResponseAsync);
        await Invalid("name", "may not have", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a/b" }).ResponseAsync);
        await Invalid("generation", "1 or 2", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", Generation = 3 }).ResponseAsync);
        await Invalid("backend", "auto, kvm or emulated", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", Backend = "quantum" }).ResponseAsync);
        await Invalid("boot.kernel_path", "does not exist", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", Boot = new BootSource { KernelPath = "/nonexistent/vmlinuz" } }).ResponseAsync);
        await Invalid("new_vhd_size_bytes", "3 MiB to 64 TiB", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", NewVhdPath = Path.Combine(host.Root, "d.vhdx"), NewVhdSizeBytes = 5 }).ResponseAsync);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(host.Root, "vms"))); // nothing was created

        var vm = await host.CreateAsync("valid", kernel);
        var duplicate = await Assert.ThrowsAsync<RpcException>(() => host.CreateAsync("VALID", kernel));
        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);

        var valid = new VmRef { Name = "valid" };
        await Invalid("automatic_start_delay_seconds", "0 to 86400", () => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = valid, AutomaticStartDelaySeconds = -1 }).ResponseAsync);
        await Invalid("automatic_stop_action", "TurnOff, Save, ShutDown", () => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = valid, AutomaticStopAction = (AutomaticStopAction)42 }).ResponseAsync);
        await Invalid("relative_weight", "1 to 10000", () => host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = valid, RelativeWeight = 0 }).ResponseAsync);
        await Invalid("maximum", "1 to 100", () => host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = valid, Maximum = 101 }).ResponseAsync);
        await Invalid("startup_bytes", "32 MiB", () => host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = valid, StartupBytes = 1 }).ResponseAsync);
        await Invalid("controller_location", "0 to 63", () => host.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = valid, Path = kernel, ControllerLocation = 64 }).ResponseAsync);
        await Invalid("controller_number", "0 to 1", () => host.Client.AddHardDiskDriveAsync(new AddHardDiskDriveRequest { Vm = valid, Path = kernel, ControllerType = ControllerType.Ide, ControllerNumber = 2 }).ResponseAsync);
        await Invalid("timeout_seconds", "1 to 3600", () => host.Client.StopVmAsync(new StopVmRequest { Vm = valid, TimeoutSeconds = -5 }).ResponseAsync);
        await Invalid("vm.id", "not a GUID", () => host.Client.GetVmAsync(new VmRef { Id = "not-a-guid" }).ResponseAsync);

        var unchanged = await host.Client.GetVmAsync(valid);
        Assert.Equal(vm.ProcessorCount, unchanged.ProcessorCount);
        Assert.Equal(vm.MemoryStartupBytes, unchanged.MemoryStartupBytes);

        var notFound = await Assert.ThrowsAsync<RpcException>(() => host.Client.StartVmAsync(new VmRef { Name = "nobody" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Contains("nobody", notFound.Status.Detail);

        await host.Client.CreateVmAsync(new CreateVmRequest { Name = "no-kernel" });
        var noBoot = await Assert.ThrowsAsync<RpcException>(() => host.Client.StartVmAsync(new VmRef { Name = "no-kernel" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, noBoot.StatusCode);
        Assert.Contains("nothing to boot", noBoot.Status.Detail);

        var resumeOff = await Assert.ThrowsAsync<RpcException>(() => host.Client.ResumeVmAsync(valid).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, resumeOff.StatusCode);
        Assert.Contains("it is Off", resumeOff.Status.Detail);
    }

    [Fact]
    public async Task ZeroMemoryOrProcessorsIsRefusedAtNewAsAtSetAndOmittedMeansTheDefault()
    {
        await using var host = await HostFixture.StartAsync(output);
        await Invalid("memory_startup_bytes", "32 MiB to 12 TiB", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", MemoryStartupBytes = 0 }).ResponseAsync);
        await Invalid("processor_count", "1 to 240", () => host.Client.CreateVmAsync(new CreateVmRequest { Name = "a", ProcessorCount = 0 }).ResponseAsync);
        var defaults = await host.Client.CreateVmAsync(new CreateVmRequest { Name = "a" });
        Assert.Equal((512L << 20, 1), (defaults.MemoryStartupBytes, defaults.ProcessorCount));
        await Invalid("memory_startup_bytes", "32 MiB to 12 TiB", () => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Name = "a" }, MemoryStartupBytes = 0 }).ResponseAsync);
        await Invalid("processor_count", "1 to 240", () => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Name = "a" }, ProcessorCount = 0 }).ResponseAsync);

        foreach (var args in new[] { new[] { "--memory", "0" }, ["--cpus", "0"] })
        {
            var refused = CliRunner.Run(output, ["vm", "new", "b", .. args, "--host-socket", host.SocketPath]);
            Assert.Equal(1, refused.Exit);
            Assert.Contains(args[0] == "--memory" ? "32 MiB to 12 TiB" : "1 to 240", refused.Error);
            var set = CliRunner.Run(output, ["vm", "set", "a", .. args, "--host-socket", host.SocketPath]);
            Assert.Equal(1, set.Exit);
        }
        Assert.Single((await host.Client.ListVmsAsync(new ListVmsRequest())).Vms);
    }

    [Fact]
    public async Task NamesWithControlOrFormatCharactersAreRefusedAndEchoedEscaped()
    {
        await using var host = await HostFixture.StartAsync(output);
        foreach (var name in new[] { @"two\nlines", @"web\u200B", @"\u202Eevil", @"tab\there", @"a\u2028b", @"\uFEFFbom" })
        {
            string raw = System.Text.RegularExpressions.Regex.Unescape(name);
            var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.CreateVmAsync(new CreateVmRequest { Name = raw }).ResponseAsync);
            output.WriteLine(e.Status.Detail);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Contains(name, e.Status.Detail); // escaped, so the error is one line that shows what was sent
            Assert.DoesNotContain(raw, e.Status.Detail);
        }
        await host.Client.CreateVmAsync(new CreateVmRequest { Name = "web" });
        await Invalid("new_name", "control or format", () => host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Name = "web" }, NewName = "web\u200D" }).ResponseAsync);
        var missing = await Assert.ThrowsAsync<RpcException>(() => host.Client.GetVmAsync(new VmRef { Name = "no\nsuch" }).ResponseAsync);
        Assert.DoesNotContain("\n", missing.Status.Detail);
        var cli = CliRunner.Run(output, "vm", "new", "a\nb", "--host-socket", host.SocketPath);
        Assert.Equal(1, cli.Exit);
        Assert.Single(cli.Error.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task ASecondHostOnTheSameInventoryRefusesToStart()
    {
        await using var host = await HostFixture.StartAsync(output);
        var second = await Assert.ThrowsAsync<IOException>(() => HostServer.StartAsync(new HostServerOptions
        {
            InventoryRoot = host.Root, SocketPath = Path.Combine(host.Root, "second.sock"), WorkerCommand = HostFixture.WorkerCommand,
        }));
        Assert.Contains("another hyper host is already managing", second.Message);
        Assert.NotNull(await host.Client.GetHostAsync(new GetHostRequest())); // the first one is untouched
    }

    internal static async Task Invalid(string parameter, string allowed, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(parameter, e.Trailers.GetValue(HostEndpoint.ParameterTrailer));
        Assert.StartsWith(parameter + ":", e.Status.Detail);
        Assert.Contains(allowed, e.Status.Detail);
    }
}
