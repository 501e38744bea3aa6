namespace HyperSharp.Host.Tests;

/// <summary>
/// What the Debian guest does in the disk hot-add tests (run from the guest kit's init as an overlay
/// script): says it is ready, waits for /dev/vdb, prints the drive's PCI slot label and the hash of its
/// first MiB, then waits for the drive to leave and says so.
/// </summary>
public static class HotAddGuestScript
{
    public const string FileName = "50-hotadd.sh";

    public const string Text = """
        echo TEST-READY
        i=0; while [ ! -e /sys/block/vdb ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
        if [ -e /sys/block/vdb ]; then
          pci=$(dirname "$(readlink -f /sys/block/vdb/device)")
          echo "TEST-LABEL $(cat "$pci/label")"
          echo "TEST-HASH $(head -c 1048576 /dev/vdb | sha256sum | cut -d' ' -f1)"
          i=0; while [ -e /sys/block/vdb ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
          [ -e /sys/block/vdb ] || echo TEST-VDB-GONE
          sleep 600 # stay up: the test reads the console once more and then turns the VM off itself
        else
          echo TEST-NO-VDB
        fi
        """;

    /// <summary>Whole lines only: the console arrives in chunks, and a marker may come before the rest of its line.</summary>
    public static bool HasHash(string console) => System.Text.RegularExpressions.Regex.IsMatch(console, "TEST-HASH [0-9a-f]{64}");
}
