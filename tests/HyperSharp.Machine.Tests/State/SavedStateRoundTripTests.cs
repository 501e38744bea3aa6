using HyperSharp.Hypervisor.State;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.State;

/// <summary>Save and restore on both backends: the guest goes on where it stopped, and every record carries this build's version.</summary>
public class SavedStateRoundTripTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("emulated")]
    [InlineData("kvm")]
    public void ASavedGuestContinuesWithNoLineLostOrRepeated(string backend)
    {
        if (backend == "kvm" && !CounterGuest.KvmUsable(out string why)) { output.WriteLine("skipped: /dev/kvm unusable: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-state").FullName;
        try
        {
            string state = Path.Combine(dir, "vm.state");
            string before = CounterGuest.SaveMidway(backend, dir, state, linesBeforeSave: 64, output.WriteLine);
            output.WriteLine($"saved after {before.Length / 9} lines: {new FileInfo(state).Length} bytes");
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(state)); // it holds the guest's memory

            var records = StateFileLayout.Records(state);
            Assert.Equal(RecordLayout.Machine, records[0].Kind);
            Assert.Equal(RecordLayout.End, records[^1].Kind);
            Assert.Contains(records, r => r.Kind == RecordLayout.Memory);
            Assert.All(records.Where(r => r.Kind == RecordLayout.Processor), r => Assert.Equal(VirtualProcessorStateSerializer.CurrentVersion, r.Version));
            Assert.Equal(2, records.Single(r => r.Kind == RecordLayout.Device && r.Key == "com1").Version);
            Assert.Equal(2, records.Single(r => r.Kind == RecordLayout.Platform).Version);

            var (stopped, after) = CounterGuest.RestoreAndRun(backend, state, output.WriteLine);
            Assert.Equal(VmStopReason.PowerOff, stopped.Reason);
            Assert.True(before.Length > 0 && after.Length > 0, "the save must fall in the middle of the count");
            Assert.Equal(CounterGuest.Expected(), before + after);
        }
        finally { Directory.Delete(dir, true); }
    }
}
