using System.Management.Automation;
using HyperSharp.Api.V1;

namespace HyperSharp.PowerShell.Cmdlets.Vm;

[Cmdlet(VerbsCommon.New, "VM", DefaultParameterSetName = NoVhdSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(VirtualMachine))]
[CmdletHelp("Creates a new virtual machine.",
    "Creates a virtual machine in the host's inventory, Off, with the given startup memory and generation, and optionally a disk: an existing one (-VHDPath) or a new dynamic VHDX (-NewVHDPath and -NewVHDSizeBytes). HyperSharp boots Linux kernels directly: give -KernelPath (and -InitrdPath, -KernelCommandLine) here or later with Set-VM.")]
[CmdletExample("New-VM -Name web01 -MemoryStartupBytes 512MB -NewVHDPath /var/lib/hypersharp/disks/web01.vhdx -NewVHDSizeBytes 20GB -KernelPath /boot/vmlinuz",
    "Creates the VM web01 with 512 MB of memory and a new 20 GB dynamic disk.")]
public sealed class NewVmCommand : HyperSharpCmdlet
{
    private const string NoVhdSet = "No VHD";
    private const string NewVhdSet = "New VHD";
    private const string ExistingVhdSet = "Existing VHD";

    [Parameter(Position = 0, HelpMessage = "The name of the new virtual machine; the default is 'New Virtual Machine'.")]
    [Alias("VMName")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "New Virtual Machine";

    [Parameter(Position = 1, HelpMessage = "The memory the virtual machine starts with, in bytes (512MB works); the default is 512 MB.")]
    public long MemoryStartupBytes { get; set; }

    [Parameter(Position = 2, HelpMessage = "The generation of the virtual machine, 1 or 2; the default is 2.")]
    [ValidateSet("1", "2")]
    public short Generation { get; set; }

    [Parameter(ParameterSetName = NoVhdSet, HelpMessage = "Creates the virtual machine without a disk (the default).")]
    public SwitchParameter NoVHD { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = NewVhdSet, HelpMessage = "The path of a new dynamic VHDX to create and attach.")]
    [ValidateNotNullOrEmpty]
    public string NewVHDPath { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = NewVhdSet, HelpMessage = "The size of the new disk in bytes (20GB works).")]
    public ulong NewVHDSizeBytes { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ExistingVhdSet, HelpMessage = "The path of an existing disk to attach as the first drive.")]
    [ValidateNotNullOrEmpty]
    public string VHDPath { get; set; } = "";

    [Parameter(HelpMessage = "The folder that holds the virtual machine's folder; the default is the host's VirtualMachinePath. It must exist (the host never creates it, nor its parents); the virtual machine's folder, named by its Id, is made in it, and the inventory links to it.")]
    public string? Path { get; set; }

    [Parameter(HelpMessage = "The Linux kernel the virtual machine boots (bzImage or ELF vmlinux).")]
    public string? KernelPath { get; set; }

    [Parameter(HelpMessage = "The initial RAM disk given to the kernel.")]
    public string? InitrdPath { get; set; }

    [Parameter(HelpMessage = "The kernel command line, e.g. 'console=ttyS0'.")]
    public string? KernelCommandLine { get; set; }

    [Parameter(HelpMessage = "The CPU backend: auto, kvm or emulated; the default is auto.")]
    [ValidateSet("auto", "kvm", "emulated")]
    public string? Backend { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, "New-VM")) return;
        var request = new CreateVmRequest
        {
            Name = Name,
            Generation = Generation,
            Path = Path is null ? "" : ResolveFilePath(Path),
            Backend = Backend ?? "",
            Boot = new BootSource
            {
                KernelPath = KernelPath is null ? "" : ResolveFilePath(KernelPath),
                InitrdPath = InitrdPath is null ? "" : ResolveFilePath(InitrdPath),
                KernelCommandLine = KernelCommandLine ?? "",
            },
        };
        // Sent only when given: the host's default is 512 MB, and 0 is refused with the allowed range, as Set-VM refuses it.
        if (MyInvocation.BoundParameters.ContainsKey(nameof(MemoryStartupBytes))) request.MemoryStartupBytes = MemoryStartupBytes;
        if (ParameterSetName == NewVhdSet)
        {
            request.NewVhdPath = ResolveFilePath(NewVHDPath);
            request.NewVhdSizeBytes = (long)Math.Min(NewVHDSizeBytes, long.MaxValue);
        }
        else if (ParameterSetName == ExistingVhdSet) request.VhdPath = ResolveFilePath(VHDPath);
        if (TryCall(c => VmHostClient.CreateVm(request, cancellationToken: c), Name, out var vm)) WriteObject(vm.ToObject(HostName));
    }
}
