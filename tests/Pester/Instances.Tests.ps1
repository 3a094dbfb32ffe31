# Instances (Windows and Linux), their lifecycle, and images, as a user types them, on the 3-host lab (Linux and root
# only). Few guests (they boot under TCG): one Windows and one Linux instance shared by the specs of a Describe.
# Pester 6; see Common.ps1. Run under flock /run/lock/vf-dev-lab.lock.
BeforeDiscovery {
    $canRunLab = $IsLinux -and ((id -u) -eq 0)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'Windows and Linux instances' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        Initialize-VfTestLab | Out-Null
        $keyPair = Get-VfTestName inst
        New-VfKeyPair $keyPair -Force -Confirm:$false | Out-Null
        $winName = Get-VfTestName pwin
        # Long enough to show whether the table view cuts names (instance names may have 63 characters).
        $linName = Get-VfTestName 'pester-linux-guest-with-a-long-name'
        $win = New-VfInstance -Image win2008 -Name $winName -Tag pester, windows -Confirm:$false
        $lin = New-VfInstance -Image vflinux -Name $linName -InstanceType t1.micro -Network vflab -KeyPair $keyPair `
            -Tag pester, linux -Wait -Confirm:$false
    }
    AfterAll {
        Get-VfInstance -Tag pester | Where-Object Name -In $winName, $linName | Remove-VfInstance -Force -Confirm:$false
        Remove-VfKeyPair $keyPair -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'creates a Windows instance from a Windows image' {
        $win.Name | Should -Be $winName
        $win.State | Should -Be 'Running'
        $win.OsFamily | Should -Be 'windows'
        $win.Image | Should -Be 'win2008'
        $win.InstanceType | Should -Be 'm1.small'
    }

    It 'boots a Linux instance that serves its own name and key at its address' {
        $lin.State | Should -Be 'Running'
        $lin.OsFamily | Should -Be 'linux'
        $lin.KeyPair | Should -Be $keyPair
        $address = @((Get-VfInstance $linName).Addresses)
        $address.Count | Should -Be 1
        $deadline = (Get-Date).AddSeconds(90)
        $page = $null
        while (-not $page -and (Get-Date) -lt $deadline) {
            try { $page = (Invoke-WebRequest "http://$($address[0])/cloud.txt" -TimeoutSec 5).Content }
            catch { Start-Sleep -Seconds 1 }
        }
        $page | Should -Match ([regex]::Escape($linName))
        $page | Should -Match ([regex]::Escape((Get-VfKeyPair $keyPair).PublicKey.Split(' ')[1]))
    }

    It 'returns the instance with its address from New-VfInstance -Wait' {
        @($lin.Addresses).Count | Should -Be 1
    }

    It 'finds instances by name, image, state and tag' {
        (Get-VfInstance $winName).Name | Should -Be $winName
        (Get-VfInstance -Image vflinux -Tag pester).Name | Should -Contain $linName
        (Get-VfInstance -State Running -Tag pester, windows).Name | Should -Contain $winName
        (Get-VfInstance "$($winName.Substring(0, 6))*").Name | Should -Contain $winName
    }

    It 'shows long instance names in full in the table view' -Skip:$true {
        # Skipped: product bug (reported to the lead). The Instance view fixes Name at 24 characters
        # (module/VirtFleet.Format.ps1xml), so names of 25 to 63 characters are cut with '…'.
        $table = Get-VfInstance -Tag pester | ConvertTo-VfTable
        $table | Should -Match ([regex]::Escape($linName))
    }

    It 'shows instances as a table with their columns' {
        $table = Get-VfInstance $winName | ConvertTo-VfTable
        $table | Should -Match '(?m)^Name\s+Host\s+State\s+OS\s+Image\s+Type\s+Addresses\s+InstanceId'
        $table | Should -Match "$([regex]::Escape($winName))\s+vfh\d\s+Running\s+windows\s+win2008\s+m1\.small"
    }

    It 'flows through Where-Object, Sort-Object, Select-Object, Group-Object and ConvertTo-Json' {
        $mine = Get-VfInstance -Tag pester | Where-Object { $_.Name -in $winName, $linName } | Sort-Object Name
        $mine.Count | Should -Be 2
        ($mine | Group-Object OsFamily | Sort-Object Name).Name | Should -Be 'linux', 'windows'
        $json = $mine | Select-Object Name, Host, State, Addresses | ConvertTo-Json -EnumsAsStrings | ConvertFrom-Json
        ($json | Where-Object Name -EQ $winName).State | Should -Be 'Running'
        ($json | Where-Object Name -EQ $linName).Addresses | Should -Be (Get-VfInstance $linName).Addresses
    }

    It 'fills -OutVariable' {
        Get-VfInstance -Tag pester -OutVariable listed | Out-Null
        $listed.Name | Should -Contain $winName
    }

    It 'completes -Name and -Image' {
        Get-VfCompletion "Stop-VfInstance -Name $($winName.Substring(0, 6))" | Should -Contain $winName
        Get-VfCompletion 'New-VfInstance -Image win' | Should -Contain 'win2008'
        Get-VfCompletion 'New-VfInstance -Image vfl' | Should -Contain 'vflinux'
    }

    It 'refuses <Why> with <Id>' -ForEach @(
        @{ Why = 'an unknown image'; Id = 'ImageNotFound'; Run = { New-VfInstance -Image nosuch-image -Name (Get-VfTestName x1) -ErrorAction Stop } }
        @{ Why = 'an unknown instance type'; Id = 'InstanceTypeNotFound'; Run = { New-VfInstance -Image vflinux -InstanceType m9.huge -Name (Get-VfTestName x2) -ErrorAction Stop } }
        @{ Why = 'an unknown key pair'; Id = 'KeyPairNotFound'; Run = { New-VfInstance -Image vflinux -KeyPair nosuch-key -Name (Get-VfTestName x3) -ErrorAction Stop } }
        @{ Why = 'a shell metacharacter in a name'; Id = 'InvalidInstanceName'; Run = { New-VfInstance -Image vflinux -Name 'a;touch /tmp/vf-canary' -ErrorAction Stop } }
        @{ Why = 'a command substitution in a name'; Id = 'InvalidInstanceName'; Run = { New-VfInstance -Image vflinux -Name '$(touch /tmp/vf-canary)' -ErrorAction Stop } }
        @{ Why = 'an option as a name'; Id = 'InvalidInstanceName'; Run = { New-VfInstance -Image vflinux -Name '-rf' -ErrorAction Stop } }
        @{ Why = 'an unknown instance'; Id = 'InstanceNotFound'; Run = { Start-VfInstance -Name nosuch-instance -Confirm:$false -ErrorAction Stop } }
    ) {
        $Run | Should -Throw -ErrorId "$Id,*"
        Test-Path /tmp/vf-canary | Should -BeFalse
        Get-VfInstance x?-* | Should -BeNullOrEmpty
    }

    It 'converges when New-VfInstance runs again with the same name, and says so with -Verbose' {
        $again = New-VfInstance -Image win2008 -Name $winName -Confirm:$false -Verbose 4>&1
        ($again | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" |
            Should -Match 'already exists'
        ($again | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Host | Should -Be $win.Host
        @(Get-VfInstance $winName).Count | Should -Be 1
    }

    It 'refuses the same name on another host with InstanceNameTaken: instance names are unique in the fleet' {
        $other = @('vfh1', 'vfh2', 'vfh3') | Where-Object { $_ -ne $win.Host } | Select-Object -First 1
        { New-VfInstance -Image win2008 -Name $winName -Host $other -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'InstanceNameTaken,VirtFleet.Cmdlets.Commands.NewVfInstanceCommand'
        @(Get-VfInstance $winName).Count | Should -Be 1
    }

    It 'changes nothing under -WhatIf' {
        Get-VfInstance $winName | Stop-VfInstance -Force -WhatIf
        Get-VfInstance $winName | Remove-VfInstance -WhatIf
        New-VfInstance -Image win2008 -Name (Get-VfTestName whatif) -WhatIf
        (Get-VfInstance $winName).State | Should -Be 'Running'
        Get-VfInstance (Get-VfTestName whatif) -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'starts with Start-VfInstance -Wait and returns the instance running with its address' {
        Stop-VfInstance $linName -Force -Confirm:$false
        $started = Start-VfInstance $linName -Wait -WaitTimeout 150 -PassThru -Confirm:$false -WarningVariable warned
        $started.State | Should -Be 'Running'
        @($started.Addresses).Count | Should -Be 1
        $warned | Should -BeNullOrEmpty
    }
}

Describe 'Instance lifecycle' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        Initialize-VfTestLab | Out-Null
        $name = Get-VfTestName plife
        New-VfInstance -Image win2008 -Name $name -Confirm:$false | Out-Null
    }
    AfterAll {
        Get-VfInstance $name -ErrorAction SilentlyContinue | Remove-VfInstance -Force -Confirm:$false
    }

    It 'stops with Stop-VfInstance -Force' {
        (Stop-VfInstance $name -Force -Confirm:$false -PassThru).State | Should -Be 'Stopped'
        (Get-VfInstance $name).State | Should -Be 'Stopped'
    }

    It 'starts from the pipeline with Start-VfInstance' {
        (Get-VfInstance $name | Start-VfInstance -Confirm:$false -PassThru).State | Should -Be 'Running'
    }

    It 'suspends with Suspend-VfInstance' {
        (Suspend-VfInstance $name -Confirm:$false -PassThru).State | Should -Be 'Paused'
        (Get-VfInstance -State Paused).Name | Should -Contain $name
    }

    It 'resumes with Resume-VfInstance' {
        (Resume-VfInstance $name -Confirm:$false -PassThru).State | Should -Be 'Running'
    }

    It 'restarts with Restart-VfInstance -Force and keeps running' {
        (Restart-VfInstance $name -Force -Confirm:$false -PassThru).State | Should -Be 'Running'
    }

    It 'removes with Remove-VfInstance -Confirm:$false, and the name is free again' {
        Get-VfInstance $name | Remove-VfInstance -Force -Confirm:$false
        Get-VfInstance -Tag pester | Where-Object Name -EQ $name | Should -BeNullOrEmpty
        { Start-VfInstance $name -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InstanceNotFound,*'
    }
}

Describe 'Images' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        $lab = Initialize-VfTestLab
        $own = Get-VfTestName ownimg
        # A user's own disk under a name of their choosing: spaces, parentheses and dots.
        $disk = Join-Path $TestDrive 'Windows Server 2008 R2 (eval) v1.2.qcow2'
        Copy-Item (Join-Path ($lab.GuestImages | Where-Object { $_ -like '*win2008' }) 'disk.qcow2') $disk
        $user = Get-VfTestName imguser
    }
    AfterAll {
        Get-VfInstance $user -ErrorAction SilentlyContinue | Remove-VfInstance -Force -Confirm:$false
        Remove-VfImage -Name $own -Force -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'lists the lab''s images on every host' {
        $images = Get-VfImage vflinux, win2008
        ($images | Where-Object Name -EQ vflinux).Hosts | Should -Contain 'vfh1'
        ($images | Where-Object Name -EQ win2008).Hosts.Count | Should -BeGreaterOrEqual 3
        ($images | Where-Object Name -EQ win2008).OsFamily | Should -Be 'windows'
    }

    It 'shows images as a table' {
        $table = Get-VfImage win2008 | ConvertTo-VfTable
        $table | Should -Match 'win2008'
        $table | Should -Match 'windows'
    }

    It 'imports nothing under -WhatIf' {
        Import-VfImage -Path $disk -Name $own -OsFamily Windows -Host vfh1 -WhatIf
        Get-VfImage | Where-Object Name -EQ $own | Should -BeNullOrEmpty
    }

    It 'imports a user''s disk file of any name with its properties' {
        $image = Import-VfImage -Path $disk -Name $own -OsFamily Windows -OsVariant win2k8r2 -DiskBus Sata -Host vfh1 -Confirm:$false
        $image.Name | Should -Be $own
        (Get-VfImage $own).Hosts | Should -Be 'vfh1'
    }

    It 'refuses a path that does not exist with ImagePathNotFound' {
        { Import-VfImage -Path (Join-Path $TestDrive 'nosuch.qcow2') -Name (Get-VfTestName nope) -OsFamily Linux -ErrorAction Stop } |
            Should -Throw -ErrorId 'ImagePathNotFound,*'
    }

    It 'refuses to remove an image an instance uses with ImageInUse' {
        New-VfInstance -Image $own -Name $user -Host vfh1 -Confirm:$false | Out-Null
        { Remove-VfImage -Name $own -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'ImageInUse,*'
        (Get-VfImage $own).Hosts | Should -Be 'vfh1'
        Remove-VfInstance $user -Force -Confirm:$false
    }

    It 'removes an image with Remove-VfImage -Confirm:$false' {
        Remove-VfImage -Name $own -Confirm:$false
        Get-VfImage | Where-Object Name -EQ $own | Should -BeNullOrEmpty
    }
}
