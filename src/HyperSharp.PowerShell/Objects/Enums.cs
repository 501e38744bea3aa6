namespace HyperSharp.PowerShell;

// Hyper-V's enumerations under their own names and numeric values, so scripts that compare
// (`$vm.State -eq 'Running'`) or cast (`[int]$vm.State`) behave as they do against Hyper-V.

/// <summary>A VM's state (Get-VM's State column).</summary>
public enum VMState
{
    Other = 1, Running = 2, Off = 3, Stopping = 4, Saved = 6, Paused = 9, Starting = 10, Reset = 11,
    Saving = 32773, Pausing = 32776, Resuming = 32777,
}

/// <summary>The kind of controller a hard disk drive sits on.</summary>
public enum ControllerType { IDE = 0, SCSI = 1 }

/// <summary>A virtual hard disk's type.</summary>
public enum VhdType { Unknown = 0, Fixed = 2, Dynamic = 3, Differencing = 4 }

/// <summary>A virtual hard disk's file format. Raw is ours (Hyper-V has no raw images).</summary>
public enum VhdFormat { Unknown = 0, VHD = 2, VHDX = 3, Raw = 100 }

/// <summary>What the host does with a VM when the host starts.</summary>
public enum StartAction { Nothing = 2, StartIfRunning = 3, Start = 4 }

/// <summary>What the host does with a running VM when the host stops.</summary>
public enum StopAction { TurnOff = 2, Save = 3, ShutDown = 4 }

/// <summary>Which checkpoints the VM takes.</summary>
public enum CheckpointType { Disabled = 2, Production = 3, ProductionOnly = 4, Standard = 5 }

/// <summary>Optimize-VHD's modes.</summary>
public enum VhdCompactMode { Full = 0, Quick = 1, Retrim = 2, Pretrimmed = 3, Prezeroed = 4 }

/// <summary>Restart-VM's kinds: a hard reset, or a reboot the guest carries out.</summary>
public enum RestartType { Reset = 0, Reboot = 1 }

/// <summary>A virtual switch's type: who its ports can reach.</summary>
public enum VMSwitchType { Private = 0, Internal = 1, External = 2 }

/// <summary>Hyper-V's on/off setting (MacAddressSpoofing, DhcpGuard, RouterGuard).</summary>
public enum OnOffState { On = 0, Off = 1 }

/// <summary>How a network adapter's port handles VLAN tags. HyperSharp sets Untagged and Access.</summary>
public enum VMNetworkAdapterVlanMode { Untagged = 0, Access = 1, Trunk = 2, Private = 3 }

/// <summary>Where Copy-VMFile copies from. Hyper-V copies from the host only, and so does HyperSharp.</summary>
public enum CopyFileSourceType { Host = 0 }
