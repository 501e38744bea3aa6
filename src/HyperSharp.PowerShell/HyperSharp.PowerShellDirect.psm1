# PowerShell Direct for HyperSharp VMs: Invoke-Command, New-PSSession and Enter-PSSession with -VMName / -VMId.
# PowerShell on Linux has these cmdlets' VM parameter sets (they come from Windows, where Hyper-V serves them) but
# cannot use them. The functions here take each cmdlet's own parameters - read from its metadata when the module is
# imported, so every parameter and parameter set stays as the installed PowerShell defines it - open the VM's session
# through the HyperSharp host when -VMName or -VMId is given, and hand everything else to Microsoft.PowerShell.Core.
# The sessions are real PSSessions ([HyperSharp.PowerShell.Direct.VmSessions]): Invoke-Command -Session, Copy-Item
# -ToSession and Remove-PSSession take them as they are.

# The bodies name their parameter sets literally: a function made from text sees none of this file's variables.

# Invoke-Command -VMName: a session per VM for this command only, as Invoke-Command -ComputerName makes one (kept with -AsJob).
$InvokeBody = {
    begin {
        $opened = @()
        if ($PSCmdlet.ParameterSetName -match 'VM(Name|Id)$') {
            $opened = @([HyperSharp.PowerShell.Direct.VmSessions]::Open($PSCmdlet, $VMName, $VMId, $Credential, $null))
            foreach ($direct in 'VMName', 'VMId', 'Credential', 'ConfigurationName') { $null = $PSBoundParameters.Remove($direct) }
            $PSBoundParameters['Session'] = $opened
        }
        $pipe = $null
        if ($PSCmdlet.ParameterSetName -notmatch 'VM(Name|Id)$' -or $opened.Count -gt 0) {
            $core = Get-Command 'Microsoft.PowerShell.Core\Invoke-Command' -CommandType Cmdlet
            $pipe = { & $core @PSBoundParameters }.GetSteppablePipeline($MyInvocation.CommandOrigin)
            $pipe.Begin($PSCmdlet)
        }
    }
    process { if ($pipe) { $pipe.Process($_) } }
    end {
        try { if ($pipe) { $pipe.End() } }
        finally { if ($opened.Count -gt 0 -and -not $AsJob) { Microsoft.PowerShell.Core\Remove-PSSession -Session $opened } }
    }
}

# New-PSSession -VMName: the sessions themselves.
$NewSessionBody = {
    begin {
        $pipe = $null
        if ($PSCmdlet.ParameterSetName -match 'VM(Name|Id)$') {
            [HyperSharp.PowerShell.Direct.VmSessions]::Open($PSCmdlet, $VMName, $VMId, $Credential, $Name)
        } else {
            $core = Get-Command 'Microsoft.PowerShell.Core\New-PSSession' -CommandType Cmdlet
            $pipe = { & $core @PSBoundParameters }.GetSteppablePipeline($MyInvocation.CommandOrigin)
            $pipe.Begin($PSCmdlet)
        }
    }
    process { if ($pipe) { $pipe.Process($_) } }
    end { if ($pipe) { $pipe.End() } }
}

# Enter-PSSession -VMName: an interactive session in the guest; it stays open after Exit-PSSession (Get-PSSession lists it).
$EnterBody = {
    begin {
        if ($PSCmdlet.ParameterSetName -match 'VM(Name|Id)$') {
            # Not $Session: that is the cmdlet's own parameter, typed PSSession.
            $opened = @([HyperSharp.PowerShell.Direct.VmSessions]::Open($PSCmdlet, @($VMName | Where-Object { $_ }), @($VMId | Where-Object { $_ }), $Credential, $null))
            if ($opened.Count -gt 0) { Microsoft.PowerShell.Core\Enter-PSSession -Session $opened[0] }
            return
        }
        Microsoft.PowerShell.Core\Enter-PSSession @PSBoundParameters
    }
}

foreach ($proxy in @(@('Invoke-Command', $InvokeBody), @('New-PSSession', $NewSessionBody), @('Enter-PSSession', $EnterBody))) {
    $metadata = [System.Management.Automation.CommandMetadata]::new((Get-Command "Microsoft.PowerShell.Core\$($proxy[0])" -CommandType Cmdlet))
    # Hyper-V insists on -Credential; here it is optional: without it the session runs as the agent's account (root),
    # which the host's API already reserves to the host's administrators (see the module's about_HyperSharp).
    foreach ($set in @($metadata.Parameters['Credential'].ParameterSets.Keys)) {
        if ($set -match 'VM(Name|Id)$') { $metadata.Parameters['Credential'].ParameterSets[$set].IsMandatory = $false }
    }
    $text = [System.Management.Automation.ProxyCommand]::GetCmdletBindingAttribute($metadata) +
        "`nparam(`n" + [System.Management.Automation.ProxyCommand]::GetParamBlock($metadata) + "`n)`n" + $proxy[1].ToString()
    Set-Item -Path "function:script:$($proxy[0])" -Value ([scriptblock]::Create($text))
}
Remove-Variable proxy, metadata, text, set

Export-ModuleMember -Function 'Invoke-Command', 'New-PSSession', 'Enter-PSSession'
