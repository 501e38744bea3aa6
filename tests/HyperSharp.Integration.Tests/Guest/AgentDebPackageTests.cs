using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Integration.Tests.Guest;

/// <summary>
/// The agent's .deb (eng/guest/build-agent-deb.sh) as dpkg sees it: its control fields, its files, and a systemd unit
/// that starts the packaged binary. Installing it into a systemd guest is not done here: the kit guest has no systemd,
/// and a Debian cloud image with systemd does not boot in test time on the Emulated backend (nor on this paravirtual KVM).
/// </summary>
public class AgentDebPackageTests(ITestOutputHelper output)
{
    [Fact]
    public void TheDebHoldsTheAgentAndASystemdUnitThatRunsIt()
    {
        if (!File.Exists("/usr/bin/dpkg-deb")) { output.WriteLine("skipped: dpkg-deb is not installed"); return; }
        var (agent, why) = AgentKit.Get();
        if (agent is null) { output.WriteLine("skipped: " + why); return; }
        string dir = Directory.CreateTempSubdirectory("hs-deb").FullName;
        try
        {
            string deb = GuestOverlay.Run("bash", Path.Combine(GuestKit.RepoRoot(), "eng", "guest", "build-agent-deb.sh"), dir).Trim();
            Assert.True(File.Exists(deb), deb);
            string info = GuestOverlay.Run("dpkg-deb", "-I", deb);
            output.WriteLine(info);
            Assert.Contains("Package: hypersharp-guest-agent", info);
            Assert.Contains("Architecture: amd64", info);
            Assert.Matches(@"Depends: libc6 \(>= 2\.\d+\)", info);
            Assert.Matches(@"Version: 1\.\d+\.[0-9a-f]{8}", info);
            foreach (var script in new[] { "postinst", "prerm", "postrm" }) Assert.Contains(script, info);

            string contents = GuestOverlay.Run("dpkg-deb", "-c", deb);
            output.WriteLine(contents);
            Assert.Matches(@"-rwxr-xr-x root/root +\d+ .* \./usr/sbin/hs-agent", contents);
            Assert.Matches(@"-rw-r--r-- root/root +\d+ .* \./lib/systemd/system/hs-agent\.service", contents);

            string root = Path.Combine(dir, "root");
            GuestOverlay.Run("dpkg-deb", "-x", deb, root);
            string unit = File.ReadAllText(Path.Combine(root, "lib/systemd/system/hs-agent.service"));
            Assert.Contains("ExecStart=/usr/sbin/hs-agent\n", unit);
            Assert.Contains("Restart=always", unit);
            Assert.Contains("WantedBy=multi-user.target", unit);
            Assert.Contains("modprobe vmw_vsock_virtio_transport", unit);
            // The packaged binary is the agent: it runs here and explains its use (no .NET needed to start it).
            var usage = Assert.Throws<InvalidOperationException>(() => GuestOverlay.Run(Path.Combine(root, "usr/sbin/hs-agent"), "--help"));
            Assert.Contains("usage: hs-agent", usage.Message);
            string postinst = GuestOverlay.Run("dpkg-deb", "--info", deb, "postinst");
            Assert.Contains("systemctl enable --now hs-agent.service", postinst);
        }
        finally { Directory.Delete(dir, true); }
    }
}
