using System.IO.Compression;
using HyperSharp.Machine.State;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.State;

/// <summary>Saved states written by the build before format 2 (Fixtures/README.md) restore with this build and run on.</summary>
public class LegacySavedStateTests(ITestOutputHelper output)
{
    private static string Unpack(string dir, string fixture)
    {
        string path = Path.Combine(dir, Path.GetFileNameWithoutExtension(fixture));
        using var source = new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "State", "Fixtures", fixture)), CompressionMode.Decompress);
        using var target = File.Create(path);
        source.CopyTo(target);
        return path;
    }

    [Theory]
    [InlineData("emulated", "emulated-f6fb358.state.gz", "00000276\n")]
    [InlineData("kvm", "kvm-f6fb358.state.gz", "0000025B\n0")]
    public void AStateSavedByTheBuildBeforeRecords_RestoresAndTheCountGoesOn(string backend, string fixture, string savedAfter)
    {
        if (backend == "kvm" && !CounterGuest.KvmUsable(out string why)) { output.WriteLine("skipped: /dev/kvm unusable: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-legacy").FullName;
        try
        {
            string state = Unpack(dir, fixture);
            using (var file = VmStateFile.Open(state))
            {
                Assert.Equal(1u, file.Format);
                Assert.Equal(backend, file.State.Backend);
                Assert.Equal(16UL << 20, file.State.Config.MemorySize);
            }
            var (stopped, after) = CounterGuest.RestoreAndRun(backend, state, output.WriteLine);
            Assert.Equal(VmStopReason.PowerOff, stopped.Reason);
            string expected = CounterGuest.Expected();
            int savedAt = expected.IndexOf(savedAfter, StringComparison.Ordinal) + savedAfter.Length;
            Assert.Equal(expected[savedAt..], after);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ATruncatedOldStateIsRefusedNamingTheFile()
    {
        string dir = Directory.CreateTempSubdirectory("hs-legacy").FullName;
        try
        {
            string pristine = Unpack(dir, "emulated-f6fb358.state.gz"), state = Path.Combine(dir, "cut.state");
            long length = new FileInfo(pristine).Length;
            foreach (long cut in new[] { 10L, 100L, length / 2, length - 5 })
            {
                File.Copy(pristine, state, overwrite: true);
                using (var f = new FileStream(state, FileMode.Open, FileAccess.Write)) f.SetLength(cut);
                var e = Assert.Throws<SavedStateException>(() => CounterGuest.RestoreAndRun("emulated", state, output.WriteLine));
                output.WriteLine(e.Message);
                Assert.StartsWith(state + ": ", e.Message);
                Assert.Contains("truncated", e.Message);
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
