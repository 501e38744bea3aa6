namespace HyperSharp.Host.Tests;

/// <summary>
/// Shell for the Debian guest's test scripts to find a host-managed VM's SCSI drives. The drives are LUNs of virtio-scsi
/// controllers, which the guest's SCSI layer scans after its driver loaded (asynchronously, and sd names disks in the order
/// they answer), so a script waits for the LUN and asks sysfs which block device it became rather than assume /dev/sda.
/// </summary>
public static class ScsiGuestShell
{
    /// <summary>Defines <c>scsi_disk L</c>: prints the block device (sda, sdb...) at location L of controller 0, waiting up to 60 s for it.</summary>
    public const string Functions = """
        scsi_disk() {
          i=0
          while [ $i -lt 1200 ]; do
            for d in /sys/class/scsi_disk/*:0:0:$1; do [ -e "$d/device/block" ] && ls "$d/device/block" && return 0; done
            sleep 0.05; i=$((i+1))
          done
          echo "TEST-NO-SCSI-DISK-$1" >&2; return 1
        }

        """;
}
