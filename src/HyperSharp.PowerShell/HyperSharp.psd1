# The HyperSharp module: Hyper-V's cmdlets for HyperSharp hosts (Linux, PowerShell 7.6).
@{
    RootModule           = 'HyperSharp.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = 'b8f2f4d6-3c1e-4a57-9f0e-6d2a9c4e7b10'
    Author               = 'HyperSharp'
    CompanyName          = 'HyperSharp'
    Copyright            = '(c) HyperSharp. MIT license.'
    Description          = 'Manage HyperSharp virtual machines, virtual hard disks and virtual networks with the cmdlets of the Hyper-V module: Get-VM, Start-VM, New-VHD, New-VMSwitch, Add-VMNetworkAdapter, ...'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('HyperSharp.Format.ps1xml')
    # PowerShell Direct: Invoke-Command, New-PSSession and Enter-PSSession with -VMName/-VMId (functions over Microsoft.PowerShell.Core's).
    NestedModules        = @('HyperSharp.PowerShellDirect.psm1')
    CmdletsToExport      = @(
        'Get-VMHost', 'New-VM', 'Get-VM', 'Start-VM', 'Stop-VM', 'Save-VM', 'Suspend-VM', 'Resume-VM', 'Restart-VM',
        'Remove-VM', 'Rename-VM', 'Set-VM', 'Get-VMProcessor', 'Set-VMProcessor', 'Get-VMMemory', 'Set-VMMemory',
        'Add-VMHardDiskDrive', 'Get-VMHardDiskDrive', 'Remove-VMHardDiskDrive', 'Set-VMHardDiskDrive',
        'New-VMSwitch', 'Get-VMSwitch', 'Set-VMSwitch', 'Rename-VMSwitch', 'Remove-VMSwitch',
        'Add-VMNetworkAdapter', 'Get-VMNetworkAdapter', 'Remove-VMNetworkAdapter', 'Rename-VMNetworkAdapter', 'Set-VMNetworkAdapter',
        'Connect-VMNetworkAdapter', 'Disconnect-VMNetworkAdapter', 'Get-VMNetworkAdapterVlan', 'Set-VMNetworkAdapterVlan',
        'New-VHD', 'Get-VHD', 'Test-VHD', 'Resize-VHD', 'Convert-VHD', 'Merge-VHD', 'Optimize-VHD',
        'Set-VMHost', 'Enable-VMMigration', 'Disable-VMMigration', 'Move-VM', 'Compare-VM',
        'Checkpoint-VM', 'Get-VMSnapshot', 'Restore-VMSnapshot', 'Remove-VMSnapshot', 'Rename-VMSnapshot',
        'Get-VMIntegrationService', 'Enable-VMIntegrationService', 'Disable-VMIntegrationService', 'Copy-VMFile',
        'New-Cluster', 'Get-Cluster', 'Add-ClusterNode', 'Remove-ClusterNode', 'Get-ClusterNode', 'Add-ClusterVirtualMachineRole',
        'Get-ClusterGroup', 'Set-ClusterGroup', 'Start-ClusterGroup', 'Stop-ClusterGroup',
        'Add-VMScsiController', 'Get-VMScsiController', 'Remove-VMScsiController',
        'Export-VM', 'Import-VM', 'Export-VMSnapshot',
        'Suspend-ClusterNode', 'Resume-ClusterNode', 'Move-ClusterVirtualMachineRole',
        'Set-ClusterOwnerNode', 'Get-ClusterOwnerNode')
    FunctionsToExport    = @('Invoke-Command', 'New-PSSession', 'Enter-PSSession')
    VariablesToExport    = @()
    AliasesToExport      = @('Get-VMCheckpoint', 'Restore-VMCheckpoint', 'Remove-VMCheckpoint', 'Rename-VMCheckpoint', 'Export-VMCheckpoint')
    PrivateData          = @{ PSData = @{ Tags = @('HyperV', 'Virtualization', 'VHDX', 'Linux') } }
}
