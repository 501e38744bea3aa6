namespace HyperSharp.Host.Tests;

/// <summary>
/// What the Debian guest does in the disk hot-add tests (run from the guest kit's init as an overlay
/// script): says it is ready, waits for a disk at SCSI location 1 (/sys/class/scsi_disk/H:0:0:1), prints
/// the drive name it reports as its serial number (VPD page 80h) and the hash of its first MiB, then waits
/// for the drive to leave and says so.
/// </summary>
public static class HotAddGuestScript
{
    public const string FileName = "50-hotadd.sh";

    public const string Text = """
        echo TEST-READY
        lun1() { for d in /sys/class/scsi_disk/*:0:0:1; do [ -e "$d/device/block" ] && ls "$d/device/block"; done; }
        i=0; while [ -z "$(lun1)" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
        b=$(lun1)
        if [ -n "$b" ]; then
          echo "TEST-LABEL $(tail -c +5 /sys/block/$b/device/vpd_pg80)"
          echo "TEST-HASH $(head -c 1048576 /dev/$b | sha256sum | cut -d' ' -f1)"
          i=0; while [ -e /sys/block/$b ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
          [ -e /sys/block/$b ] || echo TEST-DISK-GONE
          sleep 600 # stay up: the test reads the console once more and then turns the VM off itself
        else
          echo TEST-NO-DISK
        fi
        """;

    /// <summary>Whole lines only: the console arrives in chunks, and a marker may come before the rest of its line.</summary>
    public static bool HasHash(string console) => System.Text.RegularExpressions.Regex.IsMatch(console, "TEST-HASH [0-9a-f]{64}");
}
